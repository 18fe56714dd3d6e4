"""Hands-free for one browser session: the page's microphone -> ``HandsFree`` -> its engine.

The page switches it on with ``{"type": "hands_free", "on": true}``; from then on the
session hands every 16 kHz block the peer decodes to :meth:`HandsFreeLink.feed` instead
of the push-to-talk recorder. The browser cancels the echo itself (in hands-free mode
the page asks ``getUserMedia`` for ``echoCancellation``), so there is no echo filter.

Barge-in needs nothing of the session: ``engine.cancel()`` flushes the turn's sinks, the
session's :class:`~desktop_app.server.audio_track.OpusAudioTrack` among them, before it
returns, and ``engine.speaking`` stays true while the track still holds the reply's
audio (the track reports the packet it sends as ``played``), so talking over a finished
turn whose audio still plays stops it too, and the stored reply is cut to what was sent.

The frame that goes with a turn is converted to JPEG off the event loop while the user
talks (every :data:`FRAME_REFRESH_S`), so the end of speech does not wait for it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

import av
import numpy as np

from desktop_app.core.engine import Engine
from desktop_app.core.hands_free import HandsFree, HandsFreeEvent, HandsFreeOptions
from desktop_app.core.turn_detector import SpeechStarted, TurnDetectorConfig
from desktop_app.server.signaling import HandsFreeStatus, hands_free_message

log = logging.getLogger(__name__)

FRAME_REFRESH_S = 0.5  # while the user talks: the turn's frame is at most this old


class HandsFreeLink:
    def __init__(
        self,
        engine: Engine,
        status: HandsFreeStatus,
        send: Callable[[dict[str, Any]], None],
        latest_frame: Callable[[], av.VideoFrame | None],
        to_jpeg: Callable[[av.VideoFrame], bytes],
    ) -> None:
        options = HandsFreeOptions(barge_in=status.barge_in, detector=TurnDetectorConfig(pause_ms=status.pause_ms))
        self.status = status
        self.hands_free = HandsFree(engine, options, echo=None, frame_source=self._frame_jpeg, loop=asyncio.get_running_loop())
        self._send = send
        self._latest_frame = latest_frame
        self._to_jpeg = to_jpeg
        self._jpeg: bytes | None = None  # the latest frame, converted during this speech
        self._refresher: asyncio.Task | None = None
        self._unsubscribe = self.hands_free.subscribe(self._on_event)
        self._failed = False

    def feed(self, pcm: np.ndarray) -> None:
        """One microphone block (16 kHz mono float32), on the event loop."""
        try:
            self.hands_free.feed(pcm)
        except Exception:  # the peer's audio loop must go on: one bad block is not fatal
            if not self._failed:
                log.exception("hands-free: a microphone block failed")
            self._failed = True

    def _on_event(self, event: HandsFreeEvent) -> None:
        message = hands_free_message(event)
        if message is not None:
            self._send(message)
        if isinstance(event, SpeechStarted):
            self._jpeg = None
            if self._refresher is None or self._refresher.done():
                self._refresher = asyncio.ensure_future(self._refresh_jpeg())

    async def _refresh_jpeg(self) -> None:
        loop = asyncio.get_running_loop()
        # (this runs after the feed() that saw SpeechStarted: its utterance has started)
        while self.hands_free.user_speaking:
            frame = self._latest_frame()
            if frame is not None:
                try:
                    jpeg = await loop.run_in_executor(None, self._to_jpeg, frame)
                except Exception as exc:  # a frame that cannot be converted is not worth a turn
                    log.warning("hands-free: frame not usable: %s", exc)
                else:
                    if self.hands_free.user_speaking:
                        self._jpeg = jpeg
            await asyncio.sleep(FRAME_REFRESH_S)

    def _frame_jpeg(self) -> bytes | None:
        """HandsFree's frame source, called when the pause ends the speech."""
        jpeg, self._jpeg = self._jpeg, None
        if jpeg is not None:
            return jpeg
        frame = self._latest_frame()  # speech shorter than one refresh: convert it now
        if frame is None:
            return None
        try:
            return self._to_jpeg(frame)
        except Exception as exc:
            log.warning("hands-free: frame not usable: %s", exc)
            return None

    def close(self) -> None:
        """Stop listening: an utterance in progress is dropped, nothing more is sent."""
        self._unsubscribe()
        self.hands_free.close()
        if self._refresher is not None:
            self._refresher.cancel()
