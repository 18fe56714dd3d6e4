"""A local server that speaks the OpenAI HTTP protocol, for tests (the machine is offline).

:class:`FakeOpenAIServer` listens on 127.0.0.1 on an ephemeral port and serves:

* ``POST /v1/chat/completions``: a fixed reply, streamed as Server-Sent Events in
  small pieces (``chat.completion.chunk`` objects, a final ``finish_reason: "stop"``
  chunk, then ``data: [DONE]``), or as one ``chat.completion`` when ``stream`` is off;
* ``POST /v1/audio/speech`` (``response_format: "opus"``): the ``input`` text really
  spoken by Piper, muxed into Ogg Opus with PyAV and sent in several chunked pieces;
* ``POST /v1/audio/transcriptions`` (multipart ``file`` and ``model``): the uploaded
  audio transcribed by faster-whisper, as ``{"text": ...}``.

Every request needs ``Authorization: Bearer <api_key>``; otherwise the answer is
OpenAI's 401 JSON error. Request bodies and the Opus packets of every speech reply
are recorded, so tests can check what the app sent and what it forwarded.

Use it as an async context manager, or with :func:`serve_in_thread` (its own event
loop in a background thread) when the client is another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import secrets
import threading
import time
from fractions import Fraction
from typing import Any, Awaitable, Callable, Iterator

import av
import numpy as np
from aiohttp import web

from desktop_app.backends.asr.base import SAMPLE_RATE, SpeechRecognizer
from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.media.opus import FRAME_SAMPLES, OPUS_RATE
from tests.loopback_http import LoopbackHttpServer

DEFAULT_REPLY = (
    "Sure, here is a short answer. A list in Python keeps its items in order, "
    "and you can add to it at any time.\n"
    "\n"
    "Here is an example:\n"
    "\n"
    "```python\n"
    "items = [1, 2, 3]\n"
    "items.append(4)\n"
    "```\n"
    "\n"
    "That is all you need to get started."
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def openai_error(status: int, message: str, type_: str = "invalid_request_error", code: str | None = None) -> web.Response:
    """An error response with OpenAI's JSON body."""
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return web.json_response(body, status=status)


def _masked(key: str) -> str:
    """How OpenAI echoes a wrong key: its ends only."""
    return f"{key[:3]}{'*' * max(len(key) - 7, 0)}{key[-4:]}" if len(key) > 8 else "*" * len(key)


def _pieces(text: str) -> list[str]:
    """Split a reply into token-like pieces (a word with its trailing space)."""
    return re.findall(r"\s*\S+|\s+", text)


def mux_ogg_opus(packets: list[bytes]) -> bytes:
    """Wrap 20 ms, 48 kHz mono Opus packets in an Ogg container, unchanged."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE)
        stream.codec_context.layout = "mono"
        stream.time_base = Fraction(1, OPUS_RATE)
        for i, data in enumerate(packets):
            packet = av.Packet(data)
            packet.stream = stream
            packet.pts = packet.dts = i * FRAME_SAMPLES
            packet.duration = FRAME_SAMPLES
            packet.time_base = Fraction(1, OPUS_RATE)
            container.mux(packet)
    return out.getvalue()


def decode_audio_16k(data: bytes) -> np.ndarray:
    """Any audio file's bytes to 16 kHz mono float32."""
    with av.open(io.BytesIO(data)) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        parts = []
        for frame in container.decode(audio=0):
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
        parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, dtype=np.float32)


class FakeOpenAIServer(LoopbackHttpServer):
    """An OpenAI-compatible HTTP server on 127.0.0.1 (see the module docstring).

    ``chunk_delay_s`` (chat, per piece) and ``audio_piece_delay_s`` (speech) may be
    changed between requests. ``synthesizer`` and ``recognizer`` may be shared model
    instances (they are then not closed here); by default Piper "joe" and Whisper
    "tiny.en" are created and closed with the server.
    """

    def __init__(
        self,
        api_key: str,
        reply: str = DEFAULT_REPLY,
        chunk_delay_s: float = 0.005,
        audio_pieces: int = 6,
        audio_piece_delay_s: float = 0.01,
        synthesizer: SpeechSynthesizer | None = None,
        recognizer: SpeechRecognizer | None = None,
    ) -> None:
        self.api_key = api_key
        self.reply = reply
        self.chunk_delay_s = chunk_delay_s
        self.audio_pieces = audio_pieces
        self.audio_piece_delay_s = audio_piece_delay_s
        self.chat_requests: list[dict[str, Any]] = []
        self.speech_requests: list[dict[str, Any]] = []
        self.speech_packets: list[list[bytes]] = []  # the Opus packets muxed for each speech reply
        self.transcription_requests: list[dict[str, Any]] = []
        self.rejected: int = 0  # requests refused with 401
        self._own_models = synthesizer is None, recognizer is None
        if synthesizer is None:
            from desktop_app.backends.tts.piper_local import PiperSynthesizer

            synthesizer = PiperSynthesizer("joe")
        if recognizer is None:
            from desktop_app.backends.asr.whisper_local import WhisperRecognizer

            recognizer = WhisperRecognizer("tiny.en")
        self.synthesizer = synthesizer
        self.recognizer = recognizer
        super().__init__()

    # ---- lifecycle ------------------------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._check_key], client_max_size=64 << 20)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/audio/speech", self._speech)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        return app

    async def start(self) -> None:
        """Load the models, then listen on an ephemeral port."""
        await asyncio.gather(self.synthesizer.load(), self.recognizer.load())
        await super().start()

    async def stop(self) -> None:
        await super().stop()
        own_tts, own_asr = self._own_models
        if own_tts:
            await self.synthesizer.aclose()
        if own_asr:
            await self.recognizer.aclose()

    # ---- middleware -----------------------------------------------------------------

    @web.middleware
    async def _check_key(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            self.rejected += 1
            return openai_error(401, "You didn't provide an API key.", code=None)
        given = header[len("Bearer ") :]
        if not secrets.compare_digest(given.encode(), self.api_key.encode()):
            self.rejected += 1
            message = f"Incorrect API key provided: {_masked(given)}. You can find your API key at https://platform.openai.com/account/api-keys."
            return openai_error(401, message, code="invalid_api_key")
        return await handler(request)

    # ---- endpoints ------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return openai_error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict) or not body.get("messages") or not body.get("model"):
            return openai_error(400, "'model' and 'messages' are required properties.")
        self.chat_requests.append(body)
        model = str(body["model"])
        completion_id = f"chatcmpl-{secrets.token_hex(12)}"
        created = int(time.time())
        if not body.get("stream"):
            return web.json_response(
                {
                    "id": completion_id,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": self.reply}, "finish_reason": "stop"}],
                }
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
            data = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            return f"data: {json.dumps(data)}\n\n".encode()

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the client hung up (cancelled turn)
            await response.write(chunk({"role": "assistant", "content": ""}))
            for piece in _pieces(self.reply):
                await asyncio.sleep(self.chunk_delay_s)
                await response.write(chunk({"content": piece}))
            await response.write(chunk({}, "stop"))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        return response

    async def _speech(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return openai_error(400, "We could not parse the JSON body of your request.")
        if not isinstance(body, dict) or not str(body.get("input", "")).strip() or not body.get("model") or not body.get("voice"):
            return openai_error(400, "'input', 'model' and 'voice' are required properties.")
        if body.get("response_format", "mp3") != "opus":
            return openai_error(400, "This test server only produces response_format 'opus'.")
        self.speech_requests.append(body)
        packets = [p async for p in self.synthesizer.synthesize(str(body["input"]))]
        self.speech_packets.append(packets)
        data = mux_ogg_opus(packets)
        response = web.StreamResponse(headers={"Content-Type": "audio/ogg"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        size = -(-len(data) // max(self.audio_pieces, 1))
        with contextlib.suppress(ConnectionResetError):
            for start in range(0, len(data), size):
                await response.write(data[start : start + size])
                await asyncio.sleep(self.audio_piece_delay_s)
            await response.write_eof()
        return response

    async def _transcriptions(self, request: web.Request) -> web.StreamResponse:
        try:
            form = await request.post()
        except ValueError:
            return openai_error(400, "Could not parse multipart form.")
        upload = form.get("file")
        model = form.get("model")
        if not isinstance(upload, web.FileField) or not model:
            return openai_error(400, "'file' and 'model' are required properties.")
        data = upload.file.read()
        self.transcription_requests.append(
            {"model": str(model), "filename": upload.filename, "bytes": len(data), "language": str(form.get("language", ""))}
        )
        try:
            pcm = decode_audio_16k(data)
        except (av.FFmpegError, OSError, ValueError):
            return openai_error(400, "Audio file might be corrupted or unsupported.", code="invalid_value")
        result = await self.recognizer.transcribe(pcm)
        if form.get("response_format") == "text":
            return web.Response(text=result.text + "\n")
        return web.json_response({"text": result.text})


@contextlib.contextmanager
def serve_in_thread(server: FakeOpenAIServer, start_timeout_s: float = 300.0) -> Iterator[FakeOpenAIServer]:
    """Run ``server`` on its own event loop in a background thread (for subprocess clients)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-openai", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(start_timeout_s)
        try:
            yield server
        finally:
            asyncio.run_coroutine_threadsafe(server.stop(), loop).result(60.0)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60.0)
        loop.close()
