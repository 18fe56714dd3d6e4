"""Read any audio file to 16 kHz mono float32; write WAV."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.errors import AudioInputError

ASR_RATE = SAMPLE_RATE  # what the speech recognizer takes


def load_audio(path: str | Path, sample_rate: int = ASR_RATE) -> np.ndarray:
    """Decode ``path`` (WAV, MP3, Ogg, FLAC, ...) to mono float32 at ``sample_rate``."""
    path = Path(path)
    if not path.exists():
        raise AudioInputError(f"audio file not found: {path}")
    if path.is_dir():
        raise AudioInputError(f"not an audio file (a directory): {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioInputError(f"not an audio file (no audio stream): {path}")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            parts = []
            for frame in container.decode(audio=0):
                parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(frame))
            parts.extend(f.to_ndarray().reshape(-1) for f in resampler.resample(None))
    except AudioInputError:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise AudioInputError(f"not a readable audio file: {path} ({type(exc).__name__})") from None
    if not parts:
        raise AudioInputError(f"audio file holds no samples: {path}")
    return np.concatenate(parts).astype(np.float32, copy=False)


class StreamResampler:
    """Mono blocks at any rate -> mono at ``target`` (PyAV's swresample), the filter's state
    carried from block to block of the same rate; ``fmt`` is "s16" (int16) or "flt" (float32).
    ``flush(rate)`` returns the tail held for that rate and forgets its resampler (a flushed
    one cannot be reused)."""

    def __init__(self, target: int, fmt: str = "s16") -> None:
        self._target = target
        self._fmt = fmt
        self._dtype = np.int16 if fmt == "s16" else np.float32
        self._by_rate: dict[int, av.AudioResampler] = {}

    def push(self, pcm: np.ndarray, rate: int) -> np.ndarray:
        pcm = np.ascontiguousarray(pcm, dtype=self._dtype).reshape(-1)
        if rate == self._target or not pcm.size:
            return pcm
        resampler = self._by_rate.get(rate)
        if resampler is None:
            resampler = self._by_rate[rate] = av.AudioResampler(format=self._fmt, layout="mono", rate=self._target)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format=self._fmt, layout="mono")
        frame.sample_rate = rate
        return self._joined(resampler.resample(frame))

    def flush(self, rate: int) -> np.ndarray:
        resampler = self._by_rate.pop(rate, None)
        return self._joined(resampler.resample(None)) if resampler is not None else np.zeros(0, dtype=self._dtype)

    def _joined(self, frames: list[av.AudioFrame]) -> np.ndarray:
        out = [f.to_ndarray().reshape(-1) for f in frames]
        return np.concatenate(out).astype(self._dtype, copy=False) if out else np.zeros(0, dtype=self._dtype)


def resample(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Mono float32 at ``rate`` -> mono float32 at ``target``, whole (PyAV's swresample).
    Live streams keep a :class:`StreamResampler`, whose state carries over between blocks."""
    if rate == target:
        return np.ascontiguousarray(pcm, dtype=np.float32).reshape(-1)
    resampler = StreamResampler(target, "flt")
    return np.concatenate([resampler.push(pcm, rate), resampler.flush(rate)])


def float_to_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(target: str | Path | BinaryIO, pcm: np.ndarray, sample_rate: int) -> None:
    """Write mono PCM (float32 in [-1, 1] or int16) as a 16-bit WAV file or stream."""
    data = pcm if pcm.dtype == np.int16 else float_to_int16(pcm)
    if isinstance(target, (str, Path)):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        target = str(target)
    with wave.open(target, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(data.tobytes())
