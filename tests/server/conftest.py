"""Fixtures for the server's unit tests: stub models (instant, deterministic), a server on
a real socket on 127.0.0.1, and WebSocket helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import AsyncIterator

import aiohttp
import numpy as np
import pytest

from desktop_app.backends.asr.base import SpeechRecognizer, Transcription
from desktop_app.backends.llm.base import ChatModel
from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.config import AppPaths, Settings
from desktop_app.backends.asr.vad import SileroVoiceActivity
from desktop_app.core.turn import Backends
from desktop_app.media.opus import OpusEncoder
from desktop_app.server.app import ServerConfig, WebcamServer


class StubASR(SpeechRecognizer):
    name = "stub-asr"

    async def load(self) -> None:
        return None

    async def transcribe(self, pcm: np.ndarray) -> Transcription:
        text = "hello from the microphone" if pcm.size and float(np.abs(pcm).max()) > 0.01 else ""
        return Transcription(text, "en", pcm.size / 16.0, pcm.size / 16.0 if text else 0.0)


class StubLLM(ChatModel):
    """Echoes the last user message back, word by word."""

    name = "stub-llm"

    async def load(self) -> None:
        return None

    async def stream(self, messages):
        last = messages[-1]["content"]
        for word in f"You said: {last}".split(" "):
            await asyncio.sleep(0.005)
            yield word + " "


class StubTTS(SpeechSynthesizer):
    name = "stub-tts"

    async def load(self) -> None:
        return None

    async def synthesize(self, text: str):
        tone = (np.sin(np.arange(4800) * 2 * np.pi * 440 / 48000) * 8000).astype(np.int16)  # 100 ms
        for packet in OpusEncoder().encode(tone, 48000):
            yield packet


@pytest.fixture
def stub_backends() -> Backends:
    return Backends(asr=StubASR(), llm=StubLLM(), tts=StubTTS(), vad=SileroVoiceActivity())


@pytest.fixture
def paths(isolated_dirs) -> AppPaths:
    return AppPaths.from_env()  # tests/conftest.py points these at tmp


@contextlib.asynccontextmanager
async def running_server(backends: Backends, paths: AppPaths, **config) -> AsyncIterator[WebcamServer]:
    defaults = dict(host="127.0.0.1", port=0, tls=False, token="test-token-0123456789")
    server = WebcamServer(backends, Settings(), paths, ServerConfig(**{**defaults, **config}))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def base_url(server: WebcamServer) -> str:
    return f"{server.scheme}://127.0.0.1:{server.port}"


def ws_url(server: WebcamServer, token: str | None = None) -> str:
    token = server.token if token is None else token
    scheme = "wss" if server.config.tls else "ws"
    return f"{scheme}://127.0.0.1:{server.port}/ws" + (f"?token={token}" if token else "")


async def receive_json(ws, timeout: float = 30) -> dict:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, f"expected a text message, got {msg.type} {msg.data!r}"
    return json.loads(msg.data)


async def receive_until(ws, kind: str, timeout: float = 60) -> list[dict]:
    """Messages up to and including the first of type ``kind``."""
    got = []
    while True:
        message = await receive_json(ws, timeout)
        got.append(message)
        if message["type"] == kind:
            return got
