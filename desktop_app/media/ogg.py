"""Demux a growing Ogg Opus byte stream into Opus packets with PyAV, as bytes arrive."""

from __future__ import annotations

import io
import threading
from collections import deque
from typing import Iterator

import av


class GrowingStream(io.RawIOBase):
    """A file-like object whose ``read`` blocks until bytes arrive or the stream ends.

    The producer (an asyncio task) calls :meth:`feed` and :meth:`close_input`; the
    consumer (PyAV in a worker thread) reads.
    """

    def __init__(self) -> None:
        super().__init__()
        self._chunks: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._ended = False
        self._aborted = False

    def feed(self, data: bytes) -> None:
        with self._cond:
            self._chunks.append(data)
            self._cond.notify_all()

    def close_input(self) -> None:
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def abort(self) -> None:
        with self._cond:
            self._aborted = True
            self._ended = True
            self._chunks.clear()
            self._cond.notify_all()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        with self._cond:
            while not self._chunks and not self._ended:
                self._cond.wait()
            if self._aborted or not self._chunks:
                return 0
            chunk = self._chunks.popleft()
            n = min(len(buffer), len(chunk))
            buffer[:n] = chunk[:n]
            if n < len(chunk):
                self._chunks.appendleft(chunk[n:])
            return n


def iter_ogg_opus_packets(stream: io.RawIOBase) -> Iterator[bytes]:
    """Yield each Opus packet of an Ogg Opus stream, untouched (no transcoding)."""
    with av.open(stream, mode="r", format="ogg") as container:
        audio = container.streams.audio[0]
        for packet in container.demux(audio):
            if packet.size:
                yield bytes(packet)
