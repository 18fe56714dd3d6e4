"""Audio sinks: where a turn's Opus packets go (speaker, WebRTC track, file, test).

Playback reports: a sink that knows what the listener actually heard (a speaker, a
paced track) sets ``played`` to a :class:`PlayedMark` each time a packet *starts*
playing. The turn uses it on barge-in to keep only the reply the user heard. Sinks
without the attribute (files, tests) report nothing, and the delivered text is kept.
A reporting sink may say that no one listens to it now (``listening`` False: a WebRTC
track that no peer pulls, as on a page that only types); it reports nothing then, and
the text the page showed is kept.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Iterable, NamedTuple, Protocol

from desktop_app.core.events import AudioPacket
from desktop_app.core.opus_packets import packet_duration_ms


class AudioSink(Protocol):
    def write(self, packet: AudioPacket) -> None:
        """Take one packet. Must not block: queue it and return."""

    def flush(self) -> None:
        """Drop everything still queued (the user interrupted): silence at once."""


class PlayedMark(NamedTuple):
    """The last packet that started playing: one tuple, so a reader never sees a torn pair."""

    turn_id: str
    sequence: int


def last_played(sinks: Iterable[object], turn_id: str) -> int | None:
    """How far ``turn_id`` got on the sinks that report playback.

    The highest packet sequence of the turn any reporting sink started playing; -1 when
    sinks report playback but none played a packet of this turn; None when no sink
    reports (nothing is known).
    """
    known = False
    furthest = -1
    for sink in sinks:
        if not hasattr(sink, "played") or not getattr(sink, "listening", True):
            continue
        known = True
        mark = sink.played
        if mark is not None and mark.turn_id == turn_id:
            furthest = max(furthest, mark.sequence)
    return furthest if known else None


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
    ``silent_at_ms`` (the first tick that sent nothing). ``played`` marks the packet
    playing now (see :class:`PlayedMark`).
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
        self.played: PlayedMark | None = None
        self._sending = False  # a packet is playing (within its 20 ms tick)

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
        if not self._sending and self.silent_at_ms is None:
            self.silent_at_ms = self.flushed_at_ms  # idle (starved): already silent

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
            self._sending = True
            while self._queue:
                packet = self._queue.popleft()
                self.played = PlayedMark(packet.turn_id, packet.sequence)
                self.sent += 1
                if self.first_out_ms is None:
                    self.first_out_ms = self._now()
                next_tick += 0.020
                await asyncio.sleep(max(0.0, next_tick - loop.time()))
            self._sending = False
            if self.flushed_at_ms is not None and self.silent_at_ms is None:
                self.silent_at_ms = self._now()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
