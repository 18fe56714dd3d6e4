"""Hands-free for one browser session: the session's capture switched to hands-free.

The page switches it on with ``{"type": "hands_free", "on": true}``; the session's
:class:`~desktop_app.core.capture.SpeechCapture` (which gets every 16 kHz block the peer
decodes) then runs turn detection and barge-in instead of push-to-talk; this link tells
the page what happens and keeps the turn's frame ready. The browser cancels the echo
itself (in hands-free mode the page asks ``getUserMedia`` for ``echoCancellation``), so
there is no echo filter.

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

from desktop_app.core.capture import SpeechCapture
from desktop_app.core.hands_free import HandsFree, HandsFreeOptions
from desktop_app.core.turn_detector import SpeechStarted, TurnDetectorConfig
from desktop_app.server.signaling import HandsFreeStatus, hands_free_message

log = logging.getLogger(__name__)

FRAME_REFRESH_S = 0.5  # while the user talks: the turn's frame is at most this old


class HandsFreeLink:
    def __init__(
        self,
        capture: SpeechCapture,
        status: HandsFreeStatus,
        send: Callable[[dict[str, Any]], None],
        latest_frame: Callable[[], av.VideoFrame | None],
        to_jpeg: Callable[[av.VideoFrame], bytes],
    ) -> None:
        options = HandsFreeOptions(barge_in=status.barge_in, detector=TurnDetectorConfig(pause_ms=status.pause_ms))
        self.status = status
        self._capture = capture
        capture.set_hands_free(options, echo=None, frame_source=self._frame_jpeg)
        self._send = send
        self._latest_frame = latest_frame
        self._to_jpeg = to_jpeg
        self._jpeg: bytes | None = None  # the latest frame, converted during this speech
        self._refresher: asyncio.Task | None = None
        self._unsubscribe = capture.subscribe(self._on_event)

    @property
    def hands_free(self) -> HandsFree:
        hands_free = self._capture.hands_free
        assert hands_free is not None
        return hands_free

    def _on_event(self, event) -> None:
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
        while self._capture.user_speaking:
            frame = self._latest_frame()
            if frame is not None:
                try:
                    jpeg = await loop.run_in_executor(None, self._to_jpeg, frame)
                except Exception as exc:  # a frame that cannot be converted is not worth a turn
                    log.warning("hands-free: frame not usable: %s", exc)
                else:
                    if self._capture.user_speaking:
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
        self._capture.set_hands_free(None)
        if self._refresher is not None:
            self._refresher.cancel()
