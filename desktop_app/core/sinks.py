"""Audio sinks: where a turn's Opus packets go (speaker, WebRTC track, file, test)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from desktop_app.core.events import AudioPacket
from desktop_app.media.opus import packet_duration_ms


class AudioSink(Protocol):
    def write(self, packet: AudioPacket) -> None:
        """Take one packet. Must not block: queue it and return."""

    def flush(self) -> None:
        """Drop everything still queued (the user interrupted): silence at once."""


class CollectingSink:
    """Keeps every packet in memory (``ask --out``, tests)."""

    def __init__(self) -> None:
        self.packets: list[AudioPacket] = []
        self.flushes = 0

    def write(self, packet: AudioPacket) -> None:
        self.packets.append(packet)

    def flush(self) -> None:
        self.flushes += 1

    @property
    def audio_ms(self) -> float:
        return sum(packet_duration_ms(p.data) for p in self.packets)

    def payloads(self) -> list[bytes]:
        return [p.data for p in self.packets]


class PacedSink:
    """Plays packets out in real time, one per 20 ms tick, like a speaker or a WebRTC track.

    It records when packets leave, so latency can be measured where the user hears it:
    ``first_out_ms`` (first packet of the current reply), and after :meth:`flush`,
    ``silent_at_ms`` (the first tick that sent nothing).
    """

    def __init__(self, clock=None) -> None:
        from desktop_app.core.metrics import now_ms

        self._now = clock or now_ms
        self._queue: deque[AudioPacket] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.first_out_ms: float | None = None
        self.flushed_at_ms: float | None = None
        self.silent_at_ms: float | None = None
        self.sent = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    def reset_marks(self) -> None:
        self.first_out_ms = self.flushed_at_ms = self.silent_at_ms = None

    def write(self, packet: AudioPacket) -> None:
        self._queue.append(packet)
        self._wakeup.set()

    def flush(self) -> None:
        self._queue.clear()
        self.flushed_at_ms = self._now()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()  # idle: no ticking, no CPU
            next_tick = loop.time()
            while self._queue:
                self._queue.popleft()
                self.sent += 1
                if self.first_out_ms is None:
                    self.first_out_ms = self._now()
                next_tick += 0.020
                await asyncio.sleep(max(0.0, next_tick - loop.time()))
            if self.flushed_at_ms is not None and self.silent_at_ms is None:
                self.silent_at_ms = self._now()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
