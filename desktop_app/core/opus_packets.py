"""Opus packets, the engine's unit of reply audio: how long one lasts, from its TOC byte.

Encoding and decoding are media work (``desktop_app.media.opus``, PyAV); the engine only
needs durations (what was said, what was heard), so that part is here, in plain Python.
"""

from __future__ import annotations

_FRAME_SIZES_MS = (10, 20, 40, 60)  # SILK
_HYBRID_MS = (10, 20)
_CELT_MS = (2.5, 5, 10, 20)


def packet_duration_ms(packet: bytes) -> float:
    """Duration of an Opus packet from its TOC byte (RFC 6716, section 3.1)."""
    if not packet:
        return 0.0
    toc = packet[0]
    config = toc >> 3
    if config < 12:
        frame_ms: float = _FRAME_SIZES_MS[config % 4]
    elif config < 16:
        frame_ms = _HYBRID_MS[config % 2]
    else:
        frame_ms = _CELT_MS[config % 4]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        frames = (packet[1] & 0x3F) if len(packet) > 1 else 0
    return frame_ms * frames
