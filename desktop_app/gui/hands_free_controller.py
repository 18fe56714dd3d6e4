"""Hands-free in the window: an always-open microphone feeding :class:`core.hands_free.HandsFree`.

The switch is exclusive with push-to-talk. When it is on:

* the microphone stream stays open; every 20 ms block is handed from the audio thread
  to the event loop, through the echo canceller (unless turned off for headphones) to
  the turn detector;
* the speaker reports every block it plays to the echo canceller (the reverse stream),
  so the app's own voice neither starts turns nor barges in;
* a new engine (settings applied) or a new speaker keeps the same microphone stream.

The state shown to the user (:class:`ListenState`) is read from the hands-free core and
the engine on the window's meter timer: no extra timers, nothing runs while it is off.
A microphone that stops delivering audio (unplugged) is reopened once; if that fails,
hands-free switches off with one line saying why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from enum import Enum
from typing import Callable, Protocol

import numpy as np
from PySide6.QtCore import QObject, Signal

from desktop_app.config import Settings
from desktop_app.core.hands_free import BargeIn, HandsFree, HandsFreeEvent, HandsFreeOptions, SpeechIgnored, UtteranceSubmitted
from desktop_app.core.turn_detector import TurnDetectorConfig
from desktop_app.errors import AppError
from desktop_app.gui.session import Session

log = logging.getLogger(__name__)

STALL_S = 3.0  # an open microphone silent for this long (no blocks at all) has vanished


class MicStream(Protocol):
    """An open microphone that calls its block callback (``media.microphone.Microphone``)."""

    def start(self) -> None: ...

    def stop(self) -> np.ndarray: ...

    def level(self) -> float: ...


OpenStream = Callable[[Callable[[np.ndarray], None]], MicStream]


class ListenState(str, Enum):
    OFF = "off"
    LOADING = "loading"  # on, waiting for the models
    LISTENING = "listening"
    HEARING = "hearing"  # the user is talking
    REPLYING = "replying"


def options_from(settings: Settings) -> HandsFreeOptions:
    return HandsFreeOptions(barge_in=settings.barge_in, detector=TurnDetectorConfig(pause_ms=settings.resolved_turn_pause_ms()))


class HandsFreeController(QObject):
    stateChanged = Signal(str)  # a ListenState value
    message = Signal(str)  # one line for the status bar
    switchedOff = Signal(str)  # hands-free turned itself off (the microphone failed): why

    def __init__(
        self,
        session: Session,
        open_stream: OpenStream,
        frame: Callable[[], bytes | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._open_stream = open_stream
        self._frame = frame
        self._settings = session.settings
        self._stream: MicStream | None = None
        self._core: HandsFree | None = None
        self._echo = None
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_block = 0.0
        self._reopened = False
        self.enabled = False
        self.state = ListenState.OFF
        self.barge_ins: list[BargeIn] = []
        session.ready.connect(self._bind)
        session.engineChanged.connect(self._bind)

    # ---- the switch -----------------------------------------------------------------

    def set_enabled(self, on: bool) -> bool:
        """Switch hands-free on or off. False when the microphone cannot be opened."""
        if on == self.enabled:
            return True
        if not on:
            self._shut()
            return True
        self._loop = asyncio.get_event_loop()
        try:
            self._stream = self._open_stream(self._on_block_threadsafe)
            self._stream.start()
        except AppError as exc:
            self._stream = None
            self.message.emit(str(exc))
            return False
        self.enabled = True
        self._last_block = time.monotonic()
        self._reopened = False
        self._bind()
        self.poll()
        return True

    def apply_settings(self, settings: Settings) -> None:
        """New pause, barge-in or echo settings: the core is rebuilt (the stream stays)."""
        changed = (settings.turn_pause_ms, settings.barge_in, settings.echo_cancellation) != (
            self._settings.turn_pause_ms,
            self._settings.barge_in,
            self._settings.echo_cancellation,
        )
        device_changed = settings.audio_input_device != self._settings.audio_input_device
        self._settings = settings
        if self.enabled and device_changed:
            self._shut()
            self.set_enabled(True)
        elif self.enabled and changed:
            self._bind()

    # ---- wiring ---------------------------------------------------------------------

    def _bind(self) -> None:
        """(Re)build the core for the session's current engine."""
        self._unbind()
        engine = self._session.engine
        if not self.enabled or engine is None or not self._session.is_ready:
            return
        echo = None
        if self._settings.echo_cancellation:
            from desktop_app.media.echo_canceller import EchoCanceller

            echo = EchoCanceller()
            self._session.set_playback_tap(echo.push_playback)
        self._echo = echo
        self._core = HandsFree(engine, options_from(self._settings), echo=echo, frame_source=self._frame, loop=self._loop)
        self._unsubscribe = self._core.subscribe(self._on_core_event)

    def _unbind(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._core is not None:
            self._core.close()
            self._core = None
        self._session.set_playback_tap(None)
        self._echo = None

    def _shut(self) -> None:
        self.enabled = False
        self._unbind()
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.stop()
        self.poll()

    # ---- audio ----------------------------------------------------------------------

    def _on_block_threadsafe(self, block: np.ndarray) -> None:
        """From the audio thread: hand the block to the event loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._feed, block, time.monotonic())

    def _feed(self, block: np.ndarray, captured_at: float) -> None:
        self._last_block = time.monotonic()
        core = self._core
        if core is None or not self.enabled:
            return
        try:
            core.feed(block, captured_at)
        except Exception:  # a bug must not end listening silently: say it once, keep going
            log.exception("hands-free: a microphone block could not be processed")

    def _on_core_event(self, event: HandsFreeEvent) -> None:
        if isinstance(event, BargeIn):
            self.barge_ins.append(event)
            log.info("barge-in: reply %s stopped %.0f ms after the decision", event.turn_id, event.stopped_at_ms - event.decided_at_ms)
            self.message.emit("Interrupted: go on, I'm listening")
        elif isinstance(event, SpeechIgnored):
            self.message.emit("Interrupting by voice is off: wait for the reply or press Esc")
        elif isinstance(event, UtteranceSubmitted):
            log.info("hands-free: %.0f ms of speech sent as turn %s", event.speech_ms, event.turn_id)
            self.message.emit("Thinking...")

    # ---- what the window shows ------------------------------------------------------

    def level(self) -> float:
        return self._stream.level() if self._stream is not None else 0.0

    def poll(self) -> ListenState:
        """Update :attr:`state` (called on the window's meter timer); watch the microphone."""
        if self.enabled and time.monotonic() - self._last_block > STALL_S:
            self._recover()
        state = self._current_state()
        if state != self.state:
            if self.state == ListenState.REPLYING:
                self._log_echo()
            self.state = state
            self.stateChanged.emit(state.value)
        return state

    def _current_state(self) -> ListenState:
        if not self.enabled:
            return ListenState.OFF
        engine = self._session.engine
        if self._core is None or engine is None:
            return ListenState.LOADING
        if self._core.user_speaking:
            return ListenState.HEARING
        if engine.speaking:
            return ListenState.REPLYING
        return ListenState.LISTENING

    def _log_echo(self) -> None:
        if self._echo is None:
            return
        stats = self._echo.take_stats()
        if stats.frames:
            log.info("echo canceller: %.1f s of reply, microphone %.1f dB quieter", stats.seconds, stats.suppression_db)

    def _recover(self) -> None:
        """No audio for STALL_S: reopen the stream once, else switch off."""
        stream = self._stream
        if stream is not None:
            stream.stop()
        if not self._reopened:
            self._reopened = True
            self._last_block = time.monotonic()
            try:
                assert stream is not None
                stream.start()
                log.warning("hands-free: the microphone stopped delivering audio; reopened it")
                return
            except AppError as exc:
                reason = str(exc)
        else:
            reason = "the microphone stopped delivering audio"
        self._stream = None
        self._shut()
        self.switchedOff.emit(f"Hands-free is off: {reason}")

    def close(self) -> None:
        if self.enabled:
            self._shut()
