"""Piper in-process: PCM per sentence, encoded to 20 ms Opus packets as it comes."""

from __future__ import annotations

import threading
from typing import AsyncIterator, Iterator

from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.bundled_models import piper_voice
from desktop_app.core.threads import ModelThread
from desktop_app.media.opus import OpusEncoder


class PiperSynthesizer(SpeechSynthesizer):
    runs_locally = True

    def __init__(self, voice: str = "joe") -> None:
        self.name = f"piper {voice}"
        self._voice_name = voice
        self._voice = None
        self._thread = ModelThread("tts")

    async def load(self) -> None:
        if self._voice is None:
            self._voice = await self._thread.run(self._load_blocking)

    def _load_blocking(self):
        from piper import PiperVoice

        model, config = piper_voice(self._voice_name)
        voice = PiperVoice.load(str(model), config_path=str(config))
        for _ in voice.synthesize("Hello."):  # warm the ONNX session
            pass
        return voice

    async def synthesize(self, text: str) -> AsyncIterator[bytes]:
        await self.load()
        async for packet in self._thread.stream(lambda stop: self._packets(text, stop)):
            yield packet

    def _packets(self, text: str, stop: threading.Event) -> Iterator[bytes]:
        encoder = OpusEncoder()
        for chunk in self._voice.synthesize(text):
            if stop.is_set():
                return
            yield from encoder.encode(chunk.audio_int16_array, chunk.sample_rate, final=True)

    async def aclose(self) -> None:
        self._thread.shutdown()
