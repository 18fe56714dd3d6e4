"""Audio sinks: where a turn's Opus packets go (speaker, WebRTC track, file, test)."""

from __future__ import annotations

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
