"""Opus: 20 ms, 48 kHz mono packets, the engine's unit of audio (PyAV / libopus)."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from desktop_app.core.opus_packets import packet_duration_ms  # noqa: F401  (re-exported)
from desktop_app.media.audio_file import StreamResampler

OPUS_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
FRAME_MS = 20
SILENCE_PACKET = b"\xf8\xff\xfe"  # a 20 ms Opus silence frame


class OpusEncoder:
    """PCM in (any rate, int16 mono), 20 ms Opus packets out.

    Each call to :meth:`encode` with ``final=True`` pads the tail to a whole packet, so
    a sentence's audio goes out entirely without waiting for the next one.
    """

    def __init__(self, bitrate: int = 32000) -> None:
        codec = av.CodecContext.create("libopus", "w")
        codec.sample_rate = OPUS_RATE
        codec.layout = "mono"
        codec.format = "s16"
        codec.bit_rate = bitrate
        codec.time_base = Fraction(1, OPUS_RATE)
        codec.options = {"frame_duration": "20", "application": "voip"}
        codec.open()
        self._codec = codec
        self._resampler = StreamResampler(OPUS_RATE)
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0

    def encode(self, pcm: np.ndarray, sample_rate: int, final: bool = True) -> list[bytes]:
        pcm = np.ascontiguousarray(pcm, dtype=np.int16).reshape(-1)
        if sample_rate != OPUS_RATE:
            pcm = self._resampler.push(pcm, sample_rate)
            if final:
                pcm = np.concatenate([pcm, self._resampler.flush(sample_rate)])
        samples = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        whole = samples.size // FRAME_SAMPLES * FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        if final and self._pending.size:
            pad = np.zeros(FRAME_SAMPLES - self._pending.size, dtype=np.int16)
            samples = np.concatenate([samples[:whole], self._pending, pad])
            whole = samples.size
            self._pending = np.zeros(0, dtype=np.int16)
        packets: list[bytes] = []
        for start in range(0, whole, FRAME_SAMPLES):
            frame = av.AudioFrame.from_ndarray(samples[start : start + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = OPUS_RATE
            frame.pts = self._pts
            frame.time_base = Fraction(1, OPUS_RATE)
            self._pts += FRAME_SAMPLES
            packets.extend(bytes(p) for p in self._codec.encode(frame))
        return packets


class OpusDecoder:
    """Opus packets in, float32 mono PCM at 48 kHz out."""

    def __init__(self) -> None:
        self._codec = av.CodecContext.create("opus", "r")
        self._codec.sample_rate = OPUS_RATE
        self._codec.layout = "mono"

    def decode(self, packet: bytes) -> np.ndarray:
        chunks = []
        for frame in self._codec.decode(av.Packet(packet)):
            data = frame.to_ndarray()
            if data.dtype == np.int16:
                data = data.astype(np.float32) / 32768.0
            if data.ndim == 2 and data.shape[0] > 1 and frame.format.is_planar:
                data = data.mean(axis=0)
            elif not frame.format.is_planar and len(frame.layout.channels) > 1:
                data = data.reshape(-1, len(frame.layout.channels)).mean(axis=1)
            chunks.append(np.asarray(data, dtype=np.float32).reshape(-1))
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def decode_packets(packets: list[bytes]) -> np.ndarray:
    decoder = OpusDecoder()
    parts = [decoder.decode(p) for p in packets]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
