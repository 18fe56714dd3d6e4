"""The reply's voice as a WebRTC audio track: the engine's Opus packets, never re-encoded.

:class:`OpusAudioTrack` is both an aiortc ``MediaStreamTrack`` and an engine
``AudioSink``. The engine writes 20 ms Opus packets into it as fast as TTS makes them;
``recv()`` hands one packet per 20 ms to aiortc's sender as a pre-encoded ``av.Packet``
(aiortc packs it into RTP as is), and the 3-byte Opus silence packet when nothing is
queued, so the browser's jitter buffer sees a steady stream. ``flush()`` drops whatever
is queued: silence from the next 20 ms tick on.
"""

from __future__ import annotations

import asyncio
import collections
from fractions import Fraction
from typing import Callable

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from desktop_app.core.events import AudioPacket
from desktop_app.core.sinks import PlayedMark
from desktop_app.media.opus import FRAME_SAMPLES, OPUS_RATE, SILENCE_PACKET, packet_duration_ms

TIME_BASE = Fraction(1, OPUS_RATE)
MAX_LAG_S = 0.5  # further behind than this (a stalled loop): restart the clock, don't burst


class OpusAudioTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, on_speaking: Callable[[bool], None] | None = None) -> None:
        super().__init__()
        self._on_speaking = on_speaking
        self._speaking = False
        self._queue: collections.deque[AudioPacket] = collections.deque()
        self.played: PlayedMark | None = None  # the last reply packet sent: how far the user heard
        self._start: float | None = None
        self._pts = 0
        self.packets_sent = 0  # reply packets (not silence) handed to the sender
        self.flushes = 0

    # ---- AudioSink ------------------------------------------------------------------

    def write(self, packet: AudioPacket) -> None:
        self._queue.append(packet)
        self._set_speaking(True)

    def flush(self) -> None:
        self._queue.clear()
        self.flushes += 1
        self._set_speaking(False)

    @property
    def queued_ms(self) -> float:
        return sum(packet_duration_ms(p.data) for p in self._queue)

    @property
    def listening(self) -> bool:
        """A peer pulls this track (``recv`` has run), so what it plays is heard. A page
        without audio (it only types) never does: its replies are kept as shown."""
        return self._start is not None

    @property
    def speaking(self) -> bool:
        """Reply audio is queued or still going out (False again after its last packet)."""
        return self._speaking

    def _set_speaking(self, speaking: bool) -> None:
        if speaking != self._speaking:
            self._speaking = speaking
            if self._on_speaking is not None:
                self._on_speaking(speaking)

    # ---- MediaStreamTrack -----------------------------------------------------------

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._start is None:
            self._start = now
        else:
            due = self._start + self._pts / OPUS_RATE
            if now - due > MAX_LAG_S:
                self._start = now - self._pts / OPUS_RATE
            elif due > now:
                await asyncio.sleep(due - now)
        if self._queue:
            reply_packet = self._queue.popleft()
            data = reply_packet.data
            self.played = PlayedMark(reply_packet.turn_id, reply_packet.sequence)
            self.packets_sent += 1
        else:
            data = SILENCE_PACKET
            self._set_speaking(False)
        packet = av.Packet(data)
        packet.pts = self._pts
        packet.time_base = TIME_BASE
        self._pts += int(packet_duration_ms(data) * OPUS_RATE / 1000) or FRAME_SAMPLES
        return packet
