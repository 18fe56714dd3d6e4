"""A slow OpenAI-compatible chat endpoint: the first token comes after ``delay_s``.

It simulates a remote's behaviour (a busy vLLM, a model still loading in Ollama, a big
model on a far machine), which no local engine reproduces on demand, so it speaks the
protocol itself: Server-Sent Events of ``chat.completion.chunk`` objects on 127.0.0.1.

``headers_first``: send the HTTP headers and the role chunk at once and hold back the
text (as llama.cpp and OpenAI do while they evaluate the prompt); otherwise send
nothing at all until the delay is over (a proxy or a queue in front of the model).
While it waits, it watches its socket: :attr:`disconnects` records when a client hung
up, so a test can check that cancelling a turn really closes the stream's connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.loopback_http import LoopbackHttpServer

REPLY_PIECES = ["Sorry ", "for ", "the ", "wait. ", "Here ", "is ", "my ", "answer."]


class SlowChatServer(LoopbackHttpServer):
    shutdown_timeout_s = 0.5

    def __init__(self, delay_s: float = 20.0, headers_first: bool = True) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.headers_first = headers_first
        self.requests: list[dict[str, Any]] = []
        self.disconnects: list[float] = []  # time.monotonic() when a waiting client hung up
        self.completed = 0  # replies sent in full

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        return app

    async def _wait_or_hang_up(self, request: web.Request) -> bool:
        """Sleep ``delay_s`` unless the client goes away first (then False)."""
        deadline = time.monotonic() + self.delay_s
        while time.monotonic() < deadline:
            transport = request.transport
            if transport is None or transport.is_closing():
                self.disconnects.append(time.monotonic())
                return False
            await asyncio.sleep(0.02)
        return True

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {
                "id": "chatcmpl-slow",
                "object": "chat.completion.chunk",
                "created": created,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        if self.headers_first:
            await response.prepare(request)
            await response.write(chunk({"role": "assistant", "content": ""}))
        if not await self._wait_or_hang_up(request):
            return response
        try:
            if not self.headers_first:
                await response.prepare(request)
            for piece in REPLY_PIECES:
                await response.write(chunk({"content": piece}))
                await asyncio.sleep(0.01)
            await response.write(chunk({}, "stop"))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            self.completed += 1
        except ConnectionResetError:
            self.disconnects.append(time.monotonic())
        return response
