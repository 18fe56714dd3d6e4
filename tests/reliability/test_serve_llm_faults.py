"""``aiwebcam serve`` with ``llm_provider=openai``: the page's protocol, a real server process.

``serve`` runs as a user starts it (a subprocess, plain HTTP on 127.0.0.1); a client
speaks the page's WebSocket protocol (typed turns, ``cancel``) and reads what the page
would show. The chat server is llama-cpp-python's (SIGKILLed mid-reply, then
restarted) or the slow endpoint (first token after 20 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
from typing import AsyncIterator

import aiohttp

from desktop_app.core.model_wait import FIRST_NOTICE_S
from tests.llama_server import LlamaServer
from tests.openai_server import serve_in_thread
from tests.reliability.conftest import app_paths, openai_env
from tests.slow_chat_server import SlowChatServer

TOKEN = "reliability-token-0123456789"
LONG_QUESTION = "Count from one to one hundred in words, separated by commas."


@contextlib.asynccontextmanager
async def serve(aiwebcam_cmd: list[str], env_extra: dict[str, str]) -> AsyncIterator[str]:
    """``aiwebcam serve`` on 127.0.0.1; yields its base URL once the models are loaded."""
    env = {**os.environ, **env_extra}
    process = subprocess.Popen(
        [*aiwebcam_cmd, "serve", "--no-tls", "--host", "127.0.0.1", "--port", "0", "--token", TOKEN, "--ice-host", "127.0.0.1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        url = await asyncio.to_thread(process.stdout.readline)
        match = re.match(r"(http://127\.0\.0\.1:\d+)/\?token=", url)
        assert match, url + process.stderr.read() if process.poll() is not None else url
        yield match.group(1)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.asynccontextmanager
async def page(base: str) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{base.replace('http', 'ws')}/ws?token={TOKEN}", headers={"Origin": base}) as ws:
            hello = json.loads((await ws.receive(timeout=60)).data)
            assert hello["type"] == "hello"
            yield ws


async def turn(ws, text: str, on_message=None, timeout_s: float = 300) -> list[dict]:
    """Send a typed turn; the messages of that turn up to its ``finished``."""
    await ws.send_json({"type": "text", "text": text})
    got: list[dict] = []
    turn_id = None
    deadline = time.monotonic() + timeout_s
    while True:
        message = json.loads((await ws.receive(timeout=max(deadline - time.monotonic(), 0.1))).data)
        if message["type"] == "turn_started" and turn_id is None:
            turn_id = message["turn_id"]
        if turn_id is None or message.get("turn_id") not in (None, turn_id):
            continue
        got.append(message)
        if on_message is not None:
            await on_message(message, got)
        if message["type"] == "finished":
            return got


def _reply(messages: list[dict]) -> str:
    return "".join(m["text"] for m in messages if m["type"] == "delta")


async def test_serve_through_the_llama_cpp_server_survives_its_kill(llama_server: LlamaServer, aiwebcam_cmd: list[str]) -> None:
    async with serve(aiwebcam_cmd, openai_env(llama_server.base_url, max_tokens=400)) as base, page(base) as ws:
        first = await turn(ws, "Say hello in one short sentence.")
        assert _reply(first).strip() and not [m for m in first if m["type"] == "turn_error"]
        assert first[-1] == {**first[-1], "type": "finished", "interrupted": False}

        async def kill_after_some_words(message: dict, got: list[dict]) -> None:
            if message["type"] == "delta" and llama_server.running and len(_reply(got)) >= 30:
                llama_server.kill()

        cut = await turn(ws, LONG_QUESTION, on_message=kill_after_some_words)
        assert not llama_server.running
        errors = [m for m in cut if m["type"] == "turn_error"]
        line = f"the chat endpoint at {llama_server.base_url} closed the connection in the middle of the reply; the reply is cut short"
        assert [(e["message"], e["stage"]) for e in errors] == [(line, "llm")]
        assert cut[-1]["type"] == "finished" and cut[-1]["interrupted"] is True

        llama_server.start()
        again = await turn(ws, "Say thank you in one short sentence.")  # same page, same server process
        assert _reply(again).strip() and not [m for m in again if m["type"] == "turn_error"]
    [path] = app_paths().conversations_dir.glob("*.json")
    turns = json.loads(path.read_text())["turns"]
    assert [t["user_text"] for t in turns] == ["Say hello in one short sentence.", LONG_QUESTION, "Say thank you in one short sentence."]
    assert turns[1]["reply_text"] == _reply(cut) and turns[1]["interrupted"] and turns[1]["error"] == line


async def test_serve_shows_the_wait_and_cancel_ends_it_at_once(aiwebcam_cmd: list[str]) -> None:
    server = SlowChatServer(delay_s=20.0)
    with serve_in_thread(server):  # type: ignore[arg-type]
        env = {**openai_env(server.base_url), "AIWEBCAM_LLM_MODEL": "slow-model"}
        async with serve(aiwebcam_cmd, env) as base, page(base) as ws:
            cancelled_at: list[float] = []

            async def cancel_after_two_notices(message: dict, got: list[dict]) -> None:
                if message["type"] == "waiting" and len([m for m in got if m["type"] == "waiting"]) == 2:
                    cancelled_at.append(time.monotonic())
                    await ws.send_json({"type": "cancel"})

            got = await turn(ws, "Tell me something.", on_message=cancel_after_two_notices, timeout_s=15)
            finished_after = time.monotonic() - cancelled_at[0]
            deadline = time.monotonic() + 2.0
            while not server.disconnects and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
    waiting = [m for m in got if m["type"] == "waiting"]
    assert [m["waited_s"] for m in waiting] == [FIRST_NOTICE_S, FIRST_NOTICE_S + 1]
    assert waiting[0]["message"] == f"Waiting for the model (openai slow-model): no reply yet after {FIRST_NOTICE_S:.0f} s"
    assert "cancelled" in [m["type"] for m in got] and got[-1]["type"] == "finished" and got[-1]["interrupted"] is True
    assert finished_after < 2.0, finished_after
    assert server.disconnects and server.disconnects[0] - cancelled_at[0] < 2.0
    assert server.completed == 0 and not [m for m in got if m["type"] == "delta"]
