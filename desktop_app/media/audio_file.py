"""Read any audio file to 16 kHz mono float32; write WAV."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from desktop_app.errors import AudioInputError

ASR_RATE = 16000


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
