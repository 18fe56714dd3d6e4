"""One connected browser: its own Engine and Conversation, its peer connection, its page.

Sessions share the server's single :class:`~desktop_app.core.turn.Backends` (the models
load once); everything else is per session: conversation, event bus, audio track,
capture, latest video frame. Nothing of one session reaches another.

The microphone goes, block by block, to the session's
:class:`~desktop_app.core.capture.SpeechCapture` (the engine's one capture path: pre-roll,
live transcription while the key is held, hands-free turn detection and barge-in once the
page switches it on through :class:`~desktop_app.server.hands_free_link.HandsFreeLink`);
push-to-talk presses are refused in hands-free mode.

The server follows a session through two callbacks, ``on_engine_event`` (every engine
event of the session) and ``on_peer_state``, and tells its own listeners (see
:mod:`desktop_app.server.events`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any, Callable

import av
import numpy as np

from desktop_app.config import AppPaths, Settings
from desktop_app.core.capture import CaptureOptions, PressDropped, SpeechCapture
from desktop_app.core.engine import Engine, default_store
from desktop_app.core.events import Event
from desktop_app.core.turn import Backends, TurnInput
from desktop_app.malloc_arenas import free_memory_after_turns
from desktop_app.server.audio_track import OpusAudioTrack
from desktop_app.server.hands_free_link import HandsFreeLink
from desktop_app.server.peer import BrowserPeer
from desktop_app.server.signaling import (
    Cancel,
    ClientMessage,
    HandsFreeStatus,
    HandsFreeSwitch,
    Listening,
    Offer,
    Ping,
    ProtocolError,
    TalkButton,
    TypedText,
    ViewSource,
    error_message,
    event_message,
    parse_client_message,
)

log = logging.getLogger(__name__)

TAIL_MS = 80  # RTP audio lags the WebSocket's "stop": wait this long for the last words


class BrowserSession:
    """One connected browser page (the window's own session is ``gui.session.Session``)."""

    def __init__(
        self,
        backends: Backends,
        settings: Settings,
        paths: AppPaths,
        send: Callable[[dict[str, Any]], None],
        on_engine_event: Callable[[BrowserSession, Event], None] | None = None,
        on_peer_state: Callable[[BrowserSession, str], None] | None = None,
        remote: str = "",
        user_agent: str = "",
        max_message_bytes: int = 64 * 1024,
    ) -> None:
        self.id = secrets.token_hex(4)
        self.remote = remote
        self.user_agent = user_agent[:200]
        self.settings = settings
        self.engine = Engine(
            backends,
            default_store(paths.data_dir),
            settings.system_prompt,
            view_text_with_image=settings.text_in_view_with_image,
        )
        self.audio_track = OpusAudioTrack(self._on_speaking)
        self.engine.add_sink(self.audio_track)
        self.capture = SpeechCapture(self.engine, CaptureOptions(tail_ms=TAIL_MS), frame_source=self._frame_jpeg_async)
        self._unsubscribe_capture = self.capture.subscribe(self._on_capture_event)
        self.hands_free: HandsFreeLink | None = None  # None: push-to-talk
        self.peer: BrowserPeer | None = None
        self.peer_state = "new"
        self.closed = False
        self._send = send
        self._engine_event_listener = on_engine_event
        self._peer_state_listener = on_peer_state
        self._max_message_bytes = max_message_bytes
        self._unsubscribe = self.engine.subscribe(self._on_engine_event)
        self.engine.subscribe(free_memory_after_turns)
        if log.isEnabledFor(logging.INFO):  # -v: what competes with the LLM in the server
            from desktop_app.bench.thread_cpu import TurnCpuLog

            self.engine.subscribe(TurnCpuLog(log, f"browser {self.id} turn"))

    def __repr__(self) -> str:
        return f"<BrowserSession {self.id} {self.remote} {self.peer_state}>"

    # ---- for the desktop app ---------------------------------------------------------

    @property
    def latest_frame(self) -> av.VideoFrame | None:
        """The browser's most recent camera/screen frame (None before the first one)."""
        return self.peer.latest_frame if self.peer is not None else None

    def latest_frame_rgb(self) -> np.ndarray | None:
        """The latest frame as an RGB24 array (H, W, 3), ready for a QImage."""
        frame = self.latest_frame
        return frame.to_ndarray(format="rgb24") if frame is not None else None

    def send(self, message: dict[str, Any]) -> None:
        """Queue one JSON message for this page."""
        self._send(message)

    # ---- messages from the page -----------------------------------------------------

    async def handle_text(self, raw: str) -> None:
        """One WebSocket text message. Protocol errors go back to this page only."""
        try:
            message = parse_client_message(raw, self._max_message_bytes)
        except ProtocolError as exc:
            self._send(error_message(str(exc)))
            return
        await self.handle(message)

    async def handle(self, message: ClientMessage) -> None:
        if isinstance(message, Offer):
            await self._answer(message.sdp)
        elif isinstance(message, TalkButton):
            if self.hands_free is not None:
                if message.pressed:
                    self._send(error_message("push-to-talk is off in hands-free mode: just talk", "hands_free"))
            elif message.pressed:
                self.press()
            else:
                self.release()
        elif isinstance(message, HandsFreeSwitch):
            self.switch_hands_free(message)
        elif isinstance(message, Cancel):
            self.cancel()
        elif isinstance(message, TypedText):
            self.cancel()  # the old reply's queued audio must not play before the new one
            # typed words go with the frame in view, as spoken ones do
            self.engine.submit(TurnInput(text=message.text, image_jpeg=await self._frame_jpeg_async()))
        elif isinstance(message, ViewSource):
            self.engine.set_view_source(message.source)
        elif isinstance(message, Ping):
            self._send({"type": "pong"})

    async def _answer(self, sdp: str) -> None:
        if self.peer is not None:  # a new offer replaces the old connection
            old, self.peer = self.peer, None
            await old.close()
        # A fresh track per connection: a closed peer (or a failed offer's) may have ended
        # the old one, and its queued audio belongs to the old connection.
        self.engine.remove_sink(self.audio_track)
        self.audio_track.stop()
        self.audio_track = OpusAudioTrack(self._on_speaking)
        self.engine.add_sink(self.audio_track)
        peer = BrowserPeer(self.audio_track, self.feed_microphone, self._on_peer_state)
        try:
            answer = await peer.answer(sdp)
        except Exception as exc:  # aiortc raises ValueError, InvalidStateError, ...
            await peer.close()
            log.info("session %s: unusable offer: %s", self.id, exc)
            detail = str(exc) if isinstance(exc, ValueError) and str(exc) else "the SDP could not be parsed"
            self._send(error_message(f"malformed offer: {detail}", "sdp"))
            return
        self.peer = peer
        self._send({"type": "answer", "sdp": answer})

    def feed_microphone(self, pcm: np.ndarray) -> None:
        """One 16 kHz mono block from the peer, always: the capture decides what it is for."""
        try:
            self.capture.feed(pcm)
        except Exception:  # the peer's audio loop must go on: one bad block is not fatal
            log.exception("session %s: a microphone block could not be processed", self.id)

    def switch_hands_free(self, switch: HandsFreeSwitch) -> None:
        """Hands-free on (again, with these options) or off; the page is told what applies.

        Options the page leaves out come from the settings (``barge_in``, ``turn_pause_ms``).
        """
        if self.hands_free is not None:
            self.hands_free.close()
            self.hands_free = None
        status = HandsFreeStatus(False)
        if switch.on:
            self._drop_recording()
            status = HandsFreeStatus(
                True,
                self.settings.barge_in if switch.barge_in is None else switch.barge_in,
                self.settings.resolved_turn_pause_ms() if switch.pause_ms is None else switch.pause_ms,
            )
            self.hands_free = HandsFreeLink(self.capture, status, self._send, lambda: self.latest_frame, _frame_to_jpeg)
        self._send(status.as_message())
        self._send(Listening("idle" if switch.on else "off").as_message())

    def _drop_recording(self) -> None:
        """Push-to-talk held when hands-free starts: what it recorded is dropped."""
        if self.capture.discard():
            self._send({"type": "recording", "on": False})

    def press(self) -> None:
        """Push-to-talk down: interrupt the reply, keep the pre-roll, transcribe while held."""
        if not self.capture.hands_free_on:
            self.cancel()  # the reply stops with the press, even its still-queued audio
        if self.capture.press():
            self._send({"type": "recording", "on": True})

    def release(self) -> None:
        """Push-to-talk up: the end of speech (the turn starts after the RTP tail)."""
        if self.capture.release() is not None:
            self._send({"type": "recording", "on": False})

    async def _frame_jpeg_async(self) -> bytes | None:
        """The frame the camera/screen showed at the release, converted off the loop."""
        frame = self.latest_frame
        if frame is None:
            return None
        return await asyncio.get_running_loop().run_in_executor(None, _frame_to_jpeg, frame)

    def _on_capture_event(self, event) -> None:
        if isinstance(event, PressDropped):
            self._send(error_message(event.reason, "no_audio"))

    def cancel(self) -> bool:
        """Stop the reply: the engine's one cancel (see ``Engine.cancel``: what it flushes
        and stores), and the track silenced even for the last packets it was handed
        after the turn ended. True when something was cut short."""
        was_speaking = self.audio_track.speaking
        stopped = self.engine.cancel()
        self.audio_track.flush()
        return stopped or was_speaking

    # ---- events out -----------------------------------------------------------------

    def _on_speaking(self, speaking: bool) -> None:
        self._send({"type": "speaking", "on": speaking})

    def _on_engine_event(self, event: Event) -> None:
        message = event_message(event)
        if message is not None:
            self._send(message)
        if self._engine_event_listener is not None:
            self._engine_event_listener(self, event)

    def _on_peer_state(self, state: str) -> None:
        self.peer_state = state
        self._send({"type": "peer", "state": state})
        if self._peer_state_listener is not None:
            self._peer_state_listener(self, state)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.hands_free is not None:
            self.hands_free.close()
            self.hands_free = None
        self.capture.discard()
        await self.capture.aclose()
        self._unsubscribe_capture()
        self.engine.cancel()
        try:  # its turn, prompt pre-evaluation and view reading; the backends are shared
            await asyncio.wait_for(self.engine.aclose(close_backends=False), timeout=5)
        except (asyncio.TimeoutError, asyncio.CancelledError):
            pass
        self._unsubscribe()
        self.audio_track.stop()
        if self.peer is not None:
            await self.peer.close()
        # The shared backends are closed by their owner (``aiwebcam serve``, or the window
        # when it hosts), not by a session.


def _frame_to_jpeg(frame: av.VideoFrame) -> bytes:
    """The frame as the turn's JPEG. Scaled down by libswscale while it converts from
    YUV (area filter): 2-5 ms for 1280x720 where PIL's thumbnail after the conversion took
    ~15 (and 40-70 with the LLM busy), on the release's critical path."""
    from desktop_app.media.image import MAX_SIDE, to_jpeg

    scale = min(1.0, MAX_SIDE / max(frame.width, frame.height, 1))
    if scale < 1.0:
        size = dict(width=max(1, round(frame.width * scale)), height=max(1, round(frame.height * scale)))
        return to_jpeg(frame.to_image(**size, interpolation="AREA"))
    return to_jpeg(frame.to_image())

