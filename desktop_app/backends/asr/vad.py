"""Silero VAD (the ONNX model faster-whisper ships): find speech, drop silence, offline."""

from __future__ import annotations

import numpy as np
from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

from desktop_app.backends.asr.base import SAMPLE_RATE

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
