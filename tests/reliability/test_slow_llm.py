"""A slow LLM endpoint (first token after 20 s): the user sees that the model is being
waited for, and cancelling ends the turn at once and hangs up the stream.

The endpoint is :class:`tests.slow_chat_server.SlowChatServer` on 127.0.0.1 (a protocol
fake: it simulates a remote's delay); the app side is real (engine, Piper, Whisper,
``aiwebcam ask`` as a subprocess).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time

import pytest

from desktop_app.backends.factory import make_engine
from desktop_app.core.events import Event, ReplyDelta, TurnCancelled, TurnFinished
from desktop_app.core.model_wait import FIRST_NOTICE_S, WaitingForModel
from desktop_app.core.turn import TurnInput
from tests.reliability.conftest import app_paths, openai_env, openai_settings
from tests.slow_chat_server import REPLY_PIECES, SlowChatServer

SLOW_S = 20.0
CANCEL_BOUND_S = 2.0  # generous on a busy 2-core machine; the server would wait 20 s


async def _until(predicate, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()


@pytest.mark.parametrize("headers_first", [True, False], ids=["headers-then-silence", "silence"])
async def test_waiting_is_shown_and_cancel_ends_the_turn_at_once(headers_first: bool) -> None:
    async with SlowChatServer(delay_s=SLOW_S, headers_first=headers_first) as server:
        engine = make_engine(openai_settings(server.base_url, llm_model="slow-model"), app_paths())
        events: list[Event] = []
        engine.subscribe(events.append)
        try:
            await engine.warm_up()
            turn = engine.submit(TurnInput(text="Tell me something."))
            waits = lambda: [e for e in events if isinstance(e, WaitingForModel)]  # noqa: E731
            assert await _until(lambda: len(waits()) >= 2, timeout_s=15), events
            notices = waits()
            assert all(n.turn_id == turn.id and n.model == "openai slow-model" for n in notices)
            assert [n.waited_s for n in notices[:2]] == [FIRST_NOTICE_S, FIRST_NOTICE_S + 1]
            assert notices[1].line == f"Waiting for the model (openai slow-model): no reply yet after {FIRST_NOTICE_S + 1:.0f} s"
            assert not turn.done and len(server.requests) == 1 and not server.disconnects

            cancelled_at = time.monotonic()
            assert engine.cancel()
            await asyncio.wait_for(turn.wait(), CANCEL_BOUND_S)
            assert turn.done and time.monotonic() - cancelled_at < CANCEL_BOUND_S
            # the stream's HTTP connection is closed: the server saw the client hang up
            assert await _until(lambda: bool(server.disconnects), timeout_s=CANCEL_BOUND_S)
            assert server.disconnects[0] - cancelled_at < CANCEL_BOUND_S
            count = len(waits())
            await asyncio.sleep(NOTICE_GAP_S)
            assert len(waits()) == count  # no notice after the turn is over
        finally:
            await engine.aclose()
    assert [e.turn_id for e in events if isinstance(e, TurnCancelled)] == [turn.id]
    [finished] = [e for e in events if isinstance(e, TurnFinished)]
    assert finished.interrupted and finished.reply_text == ""
    assert not [e for e in events if isinstance(e, ReplyDelta)]
    assert server.completed == 0
    stored = engine.store.load(engine.conversation.id).turns
    assert len(stored) == 1 and stored[0].interrupted and stored[0].reply_text == ""


NOTICE_GAP_S = 1.5


async def test_waiting_ends_when_the_first_words_come() -> None:
    """Slow but alive (first token after 3 s): notices, then the reply as usual."""
    async with SlowChatServer(delay_s=3.0) as server:
        engine = make_engine(openai_settings(server.base_url, llm_model="slow-model"), app_paths())
        events: list[Event] = []
        engine.subscribe(events.append)
        try:
            await engine.warm_up()
            turn = await engine.run_turn(TurnInput(text="Tell me something."))
        finally:
            await engine.aclose()
    kinds = [type(e) for e in events if isinstance(e, (WaitingForModel, ReplyDelta))]
    first_delta = kinds.index(ReplyDelta)
    assert first_delta >= 1 and set(kinds[:first_delta]) == {WaitingForModel}
    assert WaitingForModel not in kinds[first_delta:]  # the notices stop with the first words
    assert turn.reply_text == "".join(REPLY_PIECES) and not turn.interrupted
    assert server.completed == 1 and not server.disconnects


def test_ask_says_it_waits_and_ctrl_c_stops_it(aiwebcam_cmd: list[str]) -> None:
    """``aiwebcam ask`` against the slow endpoint: one waiting line, Ctrl+C ends it at once."""
    from tests.openai_server import serve_in_thread  # its own loop in a thread: the client is a subprocess

    server = SlowChatServer(delay_s=SLOW_S)
    with serve_in_thread(server):  # type: ignore[arg-type]
        env = {**os.environ, **openai_env(server.base_url), "AIWEBCAM_LLM_MODEL": "slow-model"}
        ask = subprocess.Popen(
            [*aiwebcam_cmd, "ask", "--text", "Tell me something."],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            line = ask.stderr.readline().decode()  # the first thing on stderr
            interrupted_at = time.monotonic()
            ask.send_signal(signal.SIGINT)
            stdout, stderr = ask.communicate(timeout=60)
            ended_after = time.monotonic() - interrupted_at
        finally:
            if ask.poll() is None:
                ask.kill()
        deadline = time.monotonic() + CANCEL_BOUND_S
        while not server.disconnects and time.monotonic() < deadline:
            time.sleep(0.02)
    assert line == f"aiwebcam: Waiting for the model (openai slow-model): no reply yet after {FIRST_NOTICE_S:.0f} s\n"
    assert ended_after < CANCEL_BOUND_S, (ended_after, ask.returncode, stdout, stderr, server.disconnects, server.completed)
    assert ask.returncode == 130 and b"Traceback" not in stderr, stderr
    assert server.disconnects and server.completed == 0
    assert stdout.decode() == "AI: "
