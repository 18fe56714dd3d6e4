"""OpenAI-compatible ``/audio/speech`` with ``response_format=opus``.

The Ogg Opus body is demuxed with PyAV while it downloads, and its Opus packets are
forwarded untouched: no decoding, no re-encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import AsyncIterator, Iterator

import openai

from desktop_app.backends.openai_client import make_client
from desktop_app.backends.openai_errors import endpoint_error
from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.core.threads import ModelThread
from desktop_app.errors import EndpointError
from desktop_app.media.ogg import GrowingStream, iter_ogg_opus_packets


class OpenAISpeechSynthesizer(SpeechSynthesizer):
    def __init__(self, base_url: str, api_key: str, model: str = "gpt-4o-mini-tts", voice: str = "alloy") -> None:
        self.name = f"openai {model} {voice}"
        self._base_url = base_url
        self._api_key = api_key
        self._model = model
        self._voice = voice
        self._client = make_client(base_url, api_key)
        self._demux = ModelThread("speech-demux")  # demuxes the Ogg stream as it downloads

    async def load(self) -> None:
        return None

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        stream = GrowingStream()
        download = asyncio.create_task(self._download(text, stream))
        try:
            async for packet in self._demux.stream(lambda stop: self._demuxed(stream, stop)):
                yield packet
            await download  # surfaces HTTP errors that ended the stream early
        except EndpointError:
            raise
        except Exception as exc:
            if download.done() and download.exception():
                raise download.exception() from None  # type: ignore[misc]
            raise EndpointError(f"the speech endpoint sent audio that is not Ogg Opus ({type(exc).__name__})") from None
        finally:
            stream.abort()
            if not download.done():
                download.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await download

    @staticmethod
    def _demuxed(stream: GrowingStream, stop: threading.Event) -> Iterator[bytes]:
        for packet in iter_ogg_opus_packets(stream):
            if stop.is_set():
                return
            yield packet

    async def _download(self, text: str, stream: GrowingStream) -> None:
        try:
            async with self._client.audio.speech.with_streaming_response.create(
                model=self._model, voice=self._voice, input=text, response_format="opus"
            ) as response:
                async for data in response.iter_bytes():
                    stream.feed(data)
        except openai.OpenAIError as exc:
            stream.abort()
            raise endpoint_error(exc, "speech", self._base_url, self._api_key) from None
        finally:
            stream.close_input()

    async def aclose(self) -> None:
        await self._client.close()
        self._demux.shutdown()
