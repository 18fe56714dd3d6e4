"""Silero VAD (the ONNX model faster-whisper ships): find speech, drop silence, offline.

:class:`SileroVoiceActivity` is the engine's :class:`~desktop_app.core.ports.VoiceActivity`:
batch regions through ``faster_whisper.vad``, and a live stream that runs the same model
one 512-sample window at a time, keeping its LSTM state and its 64-sample context
between calls, so every window is classified exactly as the batch call would.
"""

from __future__ import annotations

import functools
import os

import numpy as np
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from desktop_app.core.ports import SAMPLE_RATE, VoiceActivity

WINDOW = VoiceActivity.window  # Silero's window at 16 kHz (32 ms)
CONTEXT = 64  # samples of the previous window the model sees again
_STATE_SHAPE = (1, 1, 128)

DEFAULT_VAD = VadOptions(min_silence_duration_ms=500, speech_pad_ms=200, min_speech_duration_ms=250)


def speech_only(pcm: np.ndarray, options: VadOptions = DEFAULT_VAD) -> np.ndarray:
    """The speech parts of ``pcm`` joined together; empty when there is none."""
    if pcm.size == 0:
        return pcm
    stamps = get_speech_timestamps(pcm, options, sampling_rate=SAMPLE_RATE)
    if not stamps:
        return np.zeros(0, dtype=np.float32)
    chunks, _ = collect_chunks(pcm, stamps, sampling_rate=SAMPLE_RATE)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def speech_timestamps(pcm: np.ndarray, pause_ms: int = 300) -> list[dict[str, int]]:
    """Speech regions (sample offsets, no padding); a region closes after ``pause_ms`` of silence.

    A region still open at the end of ``pcm`` ends at ``len(pcm)``.
    """
    if pcm.size == 0:
        return []
    options = VadOptions(min_silence_duration_ms=pause_ms, speech_pad_ms=0, min_speech_duration_ms=250)
    return get_speech_timestamps(pcm, options, sampling_rate=SAMPLE_RATE)


class SileroVoiceActivity(VoiceActivity):
    def speech_regions(self, pcm: np.ndarray, pause_ms: int) -> list[dict[str, int]]:
        return speech_timestamps(pcm, pause_ms)

    def stream(self) -> "SileroStream":
        return SileroStream()


class SileroStream:
    """Silero VAD (faster-whisper's ONNX model), one 512-sample window per call, stateful."""

    def __init__(self) -> None:
        self._session = _silero_session()
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(_STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def probability(self, window: np.ndarray) -> float:
        window = np.asarray(window, dtype=np.float32).reshape(-1)
        if window.size != WINDOW:
            raise ValueError(f"Silero takes {WINDOW}-sample windows, got {window.size}")
        x = np.concatenate([self._context, window])[None, :]
        out, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = window[-CONTEXT:].copy()
        return float(np.asarray(out).reshape(-1)[0])


@functools.lru_cache(maxsize=1)
def _silero_session():
    """An ONNX session of our own (the batch regions use faster-whisper's)."""
    from faster_whisper.utils import get_assets_path
    from faster_whisper.vad import SileroVADModel

    return SileroVADModel(os.path.join(get_assets_path(), "silero_vad_v6.onnx")).session
