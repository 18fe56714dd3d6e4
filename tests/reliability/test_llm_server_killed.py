"""The LLM server dies in the middle of a streamed reply (SIGKILL), then comes back.

What the user must get: one clear line (the engine's TurnError, which the window and the
page show; ``aiwebcam ask``'s stderr), the partial reply stored as interrupted with the
error, and the next turn working in the same process (the same engine object) once the
server is back. Real processes and sockets: llama-cpp-python's server on loopback.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time

from desktop_app.backends.factory import make_engine
from desktop_app.core.events import Event, ReplyDelta, TurnError, TurnFinished
from desktop_app.core.turn import TurnInput
from tests.llama_server import LlamaServer
from tests.reliability.conftest import app_paths, openai_env, openai_settings

# A question whose answer is long (hundreds of tokens), so the kill lands mid-reply.
LONG_QUESTION = "Count from one to one hundred in words, separated by commas."
KILL_AFTER_DELTAS = 8


def _turn_events(events: list[Event], turn_id: str, kind: type) -> list:
    return [e for e in events if isinstance(e, kind) and e.turn_id == turn_id]


async def test_engine_survives_the_server_killed_mid_reply(llama_server: LlamaServer) -> None:
    engine = make_engine(openai_settings(llama_server.base_url, llm_max_tokens=400), app_paths())
    events: list[Event] = []
    seen_at_kill: list[str] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, ReplyDelta) and not seen_at_kill:
            deltas = [e.text for e in events if isinstance(e, ReplyDelta) and e.turn_id == event.turn_id]
            if len(deltas) >= KILL_AFTER_DELTAS:
                llama_server.kill()
                seen_at_kill.append("".join(deltas))

    engine.subscribe(on_event)
    try:
        await engine.warm_up()
        cut = await engine.run_turn(TurnInput(text=LONG_QUESTION))
        assert seen_at_kill, "the reply ended before the kill: make it longer"
        assert not llama_server.running

        # 1. one clear line, the partial reply kept as interrupted
        errors = _turn_events(events, cut.id, TurnError)
        assert len(errors) == 1, errors
        line = errors[0].message
        assert errors[0].stage == "llm" and "\n" not in line
        assert line == f"the chat endpoint at {llama_server.base_url} closed the connection in the middle of the reply; the reply is cut short"
        [finished] = _turn_events(events, cut.id, TurnFinished)
        assert finished.interrupted and finished.reply_text == cut.reply_text
        assert cut.reply_text.startswith(seen_at_kill[0]) and len(cut.reply_text) < 2000
        stored = engine.store.load(engine.conversation.id).turns
        assert len(stored) == 1
        assert stored[0].user_text == LONG_QUESTION and stored[0].reply_text == cut.reply_text
        assert stored[0].interrupted and stored[0].error == line

        # 2. while it is down: one line again, nothing else breaks
        down = await engine.run_turn(TurnInput(text="Are you there?"))
        [down_error] = _turn_events(events, down.id, TurnError)
        assert down_error.message == f"cannot reach the chat endpoint at {llama_server.base_url}"

        # 3. back up: the next turn works on the same engine, with the history
        llama_server.start()
        again = await engine.run_turn(TurnInput(text="Say hello in one short sentence."))
    finally:
        await engine.aclose()
    assert not _turn_events(events, again.id, TurnError)
    assert again.reply_text.strip() and not again.interrupted
    stored = engine.store.load(engine.conversation.id).turns
    assert [t.user_text for t in stored] == [LONG_QUESTION, "Are you there?", "Say hello in one short sentence."]
    assert stored[0].reply_text == cut.reply_text and stored[0].interrupted  # unchanged by later saves
    assert stored[2].reply_text == again.reply_text and not stored[2].interrupted and not stored[2].error


def _read_until(process: subprocess.Popen, predicate, timeout_s: float) -> bytes:
    """Read the child's stdout as it streams until ``predicate(data)``, or it exits."""
    data = b""
    fd = process.stdout.fileno()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not predicate(data):
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            piece = os.read(fd, 4096)
            if not piece:
                break
            data += piece
    return data


def test_ask_survives_the_server_killed_mid_reply(llama_server: LlamaServer, aiwebcam_cmd: list[str]) -> None:
    env = {**os.environ, **openai_env(llama_server.base_url, max_tokens=400)}
    ask = subprocess.Popen(
        [*aiwebcam_cmd, "ask", "--text", LONG_QUESTION],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        head = _read_until(ask, lambda data: len(data) >= len(b"AI: ") + 30, timeout_s=300)
        assert head.startswith(b"AI: ") and len(head) >= 34, head
        llama_server.kill()
        rest, stderr = ask.communicate(timeout=120)
    finally:
        if ask.poll() is None:
            ask.kill()
    stdout = (head + rest).decode()
    err_lines = stderr.decode().strip().splitlines()
    line = f"aiwebcam: error: the chat endpoint at {llama_server.base_url} closed the connection in the middle of the reply; the reply is cut short"
    assert ask.returncode == 1
    # one error line; before it, at most the notice that the model was slow to start
    # (a loaded machine: the server's first token can take over 2 s)
    assert err_lines[-1:] == [line], stderr.decode()
    assert all(e.startswith("aiwebcam: Waiting for the model (") for e in err_lines[:-1]), stderr.decode()
    conversations = sorted(app_paths().conversations_dir.glob("*.json"))
    assert len(conversations) == 1
    stored = json.loads(conversations[0].read_text())
    [turn] = stored["turns"]
    assert turn["interrupted"] is True and turn["error"] == line.removeprefix("aiwebcam: error: ")
    assert stdout == f"AI: {turn['reply_text']}\n"  # what the user read is what was kept
    assert len(turn["reply_text"]) >= 30

    llama_server.start()
    after = subprocess.run(
        [*aiwebcam_cmd, "ask", "--text", "Say hello in one short sentence.", "--continue", "--json"],
        env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr
    summary = json.loads(after.stdout.strip().splitlines()[-1])
    assert summary["conversation_id"] == stored["id"] and summary["reply"].strip()
    turns = json.loads(conversations[0].read_text())["turns"]
    assert len(turns) == 2 and turns[0] == turn


async def test_engine_carries_on_when_the_server_restarts_between_turns(llama_server: LlamaServer) -> None:
    """A restart between two turns (the client's idle keep-alive connection is dead): the
    next turn must not fail on the stale connection."""
    engine = make_engine(openai_settings(llama_server.base_url), app_paths())
    events: list[Event] = []
    engine.subscribe(events.append)
    try:
        await engine.warm_up()
        before = await engine.run_turn(TurnInput(text="Say hello in one short sentence."))
        llama_server.kill()
        llama_server.start()
        after = await engine.run_turn(TurnInput(text="Say thank you in one short sentence."))
    finally:
        await engine.aclose()
    assert llama_server.starts >= 2
    assert not [e for e in events if isinstance(e, TurnError)], [e for e in events if isinstance(e, TurnError)]
    assert before.reply_text.strip() and after.reply_text.strip() and not after.interrupted
