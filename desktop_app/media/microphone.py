"""Microphone capture: sounddevice input stream -> 16 kHz mono float32 utterances.

The audio callback only appends a copy of each block to a deque; joining, level
metering and everything else happens on the caller's thread.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Protocol

import numpy as np

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.errors import AppError

BLOCK = 320  # 20 ms at 16 kHz


class MicrophoneError(AppError):
    """No usable input device (none present, vanished, or PortAudio missing)."""


class AudioSource(Protocol):
    """What push-to-talk records from: the microphone, or speech injected by a test."""

    def start(self) -> None:
        """Begin recording a new utterance (raises AppError when impossible)."""

    def stop(self) -> np.ndarray:
        """End the utterance: 16 kHz mono float32 of everything since start()."""

    def level(self) -> float:
        """Loudness of the most recent audio, 0..1, for the meter."""


def _sounddevice():
    try:
        import sounddevice
    except OSError:
        raise MicrophoneError("no microphone: the PortAudio library is not installed (Debian: libportaudio2)") from None
    return sounddevice


def input_device_problem(device: int | str | None = None) -> str | None:
    """One line saying why there is no usable microphone, or None when there is one."""
    try:
        sd = _sounddevice()
        sd.query_devices(device, kind="input")
    except MicrophoneError as exc:
        return str(exc)
    except Exception:  # PortAudioError, ValueError: no such device
        return "no microphone found: type your messages instead"
    return None


def rms_level(pcm: np.ndarray) -> float:
    """RMS mapped to 0..1 on a dB scale (-60 dBFS -> 0, 0 dBFS -> 1)."""
    if pcm.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    if rms <= 1e-6:
        return 0.0
    return float(np.clip((20.0 * np.log10(rms) + 60.0) / 60.0, 0.0, 1.0))


class Microphone:
    """An :class:`AudioSource` on a sounddevice input stream, open only while recording.

    Hands-free: pass ``on_block`` (for example ``HandsFree.feed_threadsafe``) and every
    20 ms block goes there, from the audio thread, instead of being kept for
    :meth:`stop` (an always-open stream must not grow without bound).
    """

    def __init__(
        self, device: int | str | None = None, on_block: Callable[[np.ndarray], None] | None = None, block_ms: int = 20
    ) -> None:
        self.device = device
        self.block = SAMPLE_RATE * block_ms // 1000
        self._blocks: deque[np.ndarray] = deque()
        self._on_block = on_block
        self._stream = None

    def start(self) -> None:
        sd = _sounddevice()
        self.stop()
        self._blocks.clear()
        try:
            stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                channels=1,
                dtype="float32",
                blocksize=self.block,
                device=self.device,
                callback=self._callback,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise MicrophoneError(f"no usable microphone ({' '.join(str(exc).split())}): type your messages instead") from None
        self._stream = stream

    def _callback(self, indata, _frames, _time, _status) -> None:
        block = indata[:, 0].copy()
        if self._on_block is not None:
            if self._blocks:
                self._blocks.clear()
            self._blocks.append(block)  # only the latest, for level()
            self._on_block(block)
        else:
            self._blocks.append(block)

    def stop(self) -> np.ndarray:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            except Exception:
                pass
        blocks = list(self._blocks)
        self._blocks.clear()
        return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)

    def level(self) -> float:
        try:
            return rms_level(self._blocks[-1])
        except IndexError:
            return 0.0

    @property
    def recording(self) -> bool:
        return self._stream is not None
