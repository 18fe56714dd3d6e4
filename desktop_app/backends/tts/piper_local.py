"""Piper in-process: PCM per sentence, encoded to 20 ms Opus packets as it comes."""

from __future__ import annotations

import threading
from typing import AsyncIterator, Iterator

from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.bundled_models import piper_voice
from desktop_app.core.threads import ModelThread
from desktop_app.media.opus import OpusEncoder


def load_voice(name: str):
    """The voice, its ONNX session giving back its working memory after each sentence.

    onnxruntime's CPU arena (Piper leaves it on) keeps the largest buffers any sentence
    ever needed and never returns them: RSS rose by steps of tens to hundreds of MB
    whenever a reply had a longer sentence than any before, and stayed there (the long
    session in ``docs/reliability.md``; +510 MB after one 80-word sentence). With arena
    shrinkage after every run the arena still serves the run itself, then returns what
    it grew. It costs about 13 ms on a reply's first chunk (4 words, p50); shrinking only
    after long runs saved that, but let RSS swing by 150 MB over a session.
    """
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    model, config = piper_voice(name)
    session = onnxruntime.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return PiperVoice(
        session=_ShrinkingSession(session),
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
    )


class _ShrinkingSession:
    """An ``onnxruntime.InferenceSession`` whose every run ends by shrinking the CPU arena."""

    def __init__(self, session) -> None:
        import onnxruntime

        self._session = session
        self._options = onnxruntime.RunOptions()
        self._options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names, input_feed, run_options=None):
        return self._session.run(output_names, input_feed, run_options or self._options)

    def __getattr__(self, name: str):
        return getattr(self._session, name)


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
        voice = load_voice(self._voice_name)
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
