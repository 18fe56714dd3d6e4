"""Piper in-process: PCM per sentence, encoded to 20 ms Opus packets as it comes."""

from __future__ import annotations

import threading
from typing import AsyncIterator, Iterator

import numpy as np

from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.bundled_models import piper_voice
from desktop_app.core.threads import ModelThread
from desktop_app.media.levels import window_levels
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
    options = onnxruntime.SessionOptions()
    # Its pool's worker waits for work asleep, not spinning: Piper synthesizes a reply's
    # sentences while llama.cpp decodes the next ones, and a spinning worker took a core
    # from it. Measured (AMD EPYC, 2 cores, llama.cpp decoding while Piper synthesized
    # four-word sentences): llama.cpp 7.9 tokens/s with spinning, 13.6 without; Piper's
    # first sentence 207 ms p50 with, 197 without (96 and 100 ms on an idle machine).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    return PiperVoice(
        session=_ShrinkingSession(session),
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
    )


def seeded_voice(name: str, text: str):
    """The voice, its randomness seeded from ``text``: the same phrase is the same audio
    every time, on every machine of a kind.

    Piper's model draws noise (the durations, the flow) inside onnxruntime, so each
    synthesis says a phrase a little differently. Recorded speech for tests and the
    benchmark's questions must not: each clone heard different speech, and AEC3, the VAD
    and tiny.en flipped on it now and then (the user's first words damped by the
    canceller in one CI run, kept in the others; "Romido and Juliet" on one machine's
    benchmark, "Romeo" on another's). Seeded before the session is made (0.3 s to load a
    session, once per phrase: callers cache the audio)."""
    import zlib

    import onnxruntime

    onnxruntime.set_seed(zlib.crc32(text.encode()))
    return load_voice(name)


def write_seeded_wav(path, text: str, lead_silence_s: float, tail_silence_s: float, name: str = "joe") -> None:
    """``text`` said by :func:`seeded_voice`, with silence before and after, as a WAV
    at the voice's own rate (recorded speech: the benchmark's questions, the tests')."""
    import numpy as np

    from desktop_app.media.audio_file import write_wav

    voice = seeded_voice(name, text)
    pcm = np.concatenate([c.audio_int16_array for c in voice.synthesize(text)])
    rate = voice.config.sample_rate
    lead = np.zeros(int(rate * lead_silence_s), dtype=np.int16)
    tail = np.zeros(int(rate * tail_silence_s), dtype=np.int16)
    write_wav(path, np.concatenate([lead, pcm, tail]), rate)


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
        for index, chunk in enumerate(self._voice.synthesize(text)):
            if stop.is_set():
                return
            audio = chunk.audio_int16_array
            if index == 0:
                audio = without_leading_silence(audio, chunk.sample_rate)
            yield from encoder.encode(audio, chunk.sample_rate, final=True)

    async def aclose(self) -> None:
        self._thread.shutdown()


LEAD_LEVEL_DBFS = -40.0  # a 10 ms window this loud is already the voice
LEAD_KEPT_MS = 10  # of the quiet before it: the onset's own ramp


def without_leading_silence(audio: np.ndarray, rate: int) -> np.ndarray:
    """The voice from its onset: Piper starts a sentence with 30-60 ms of near silence,
    which the listener waits through before the first word (measured at the speaker)."""
    loud = np.flatnonzero(window_levels(audio / 32768.0, rate, ms=10) > LEAD_LEVEL_DBFS)
    if loud.size == 0:
        return audio
    return audio[max(0, int(loud[0]) * rate // 100 - rate * LEAD_KEPT_MS // 1000):]
