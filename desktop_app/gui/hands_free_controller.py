"""Hands-free in the window: the engine's capture switched to hands-free, and what it shows.

The switch is exclusive with push-to-talk. When it is on:

* the armed microphone (:mod:`desktop_app.gui.armed_microphone`, the same stream
  push-to-talk uses) feeds the :class:`~desktop_app.core.capture.SpeechCapture`, which
  runs every block through the echo canceller (unless turned off for headphones) into
  the turn detector;
* the speaker reports every block it plays to the echo canceller (the reverse stream),
  so the app's own voice neither starts turns nor barges in;
* a new engine (settings applied) is picked up by the capture; the stream stays.

The state shown to the user (:class:`ListenState`) is read from the capture and the
engine on the window's meter timer: no extra timers, nothing runs while it is off.
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Callable

from PySide6.QtCore import QObject, Signal

from desktop_app.config import Settings
from desktop_app.core.capture import SpeechCapture
from desktop_app.core.hands_free import BargeIn, HandsFreeOptions, SpeechIgnored, UtteranceSubmitted
from desktop_app.core.turn_detector import TurnDetectorConfig
from desktop_app.gui.session import WindowSession
from desktop_app.media.echo_path import EchoPath

log = logging.getLogger(__name__)


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

    def __init__(
        self,
        session: WindowSession,
        capture: SpeechCapture,
        arm: Callable[[bool], str | None],  # (on) -> why the microphone cannot listen, or None
        level: Callable[[], float],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._capture = capture
        self._arm = arm
        self._level = level
        self._settings = session.settings
        self._echo = None
        self.enabled = False
        self.state = ListenState.OFF
        self.barge_ins: list[BargeIn] = []
        capture.subscribe(self._on_capture_event)

    # ---- the switch -----------------------------------------------------------------

    def set_enabled(self, on: bool) -> bool:
        """Switch hands-free on or off. False when the microphone cannot be opened."""
        if on == self.enabled:
            return True
        if not on:
            self._shut()
            return True
        problem = self._arm(True)
        if problem:
            self.message.emit(problem)
            return False
        self.enabled = True
        self._start()
        self.poll()
        return True

    def apply_settings(self, settings: Settings) -> None:
        """New pause, barge-in or echo settings: hands-free is rebuilt (the stream stays)."""
        changed = (settings.turn_pause_ms, settings.barge_in, settings.echo_cancellation) != (
            self._settings.turn_pause_ms,
            self._settings.barge_in,
            self._settings.echo_cancellation,
        )
        self._settings = settings
        if self.enabled and changed:
            self._start()

    def _start(self) -> None:
        echo = None
        if self._settings.echo_cancellation:
            from desktop_app.media.echo_canceller import EchoCanceller

            echo = EchoCanceller()
            self._session.set_playback_tap(echo.push_playback)
        else:
            self._session.set_playback_tap(None)
        self._echo = echo
        self._capture.set_hands_free(options_from(self._settings), echo=echo)

    def _shut(self) -> None:
        self.enabled = False
        self._capture.set_hands_free(None)
        self._arm(False)
        self._session.set_playback_tap(None)
        self._echo = None
        self.poll()

    def _on_capture_event(self, event) -> None:
        if isinstance(event, BargeIn):
            self.barge_ins.append(event)
            log.info("barge-in: reply %s stopped %.0f ms after the decision", event.turn_id, event.stopped_at_ms - event.decided_at_ms)
            self.message.emit("Interrupted: go on, I'm listening")
        elif isinstance(event, SpeechIgnored):
            self.message.emit("Interrupting by voice is off: wait for the reply or press Esc")
        elif isinstance(event, UtteranceSubmitted):
            log.info("hands-free: %.0f ms of speech sent as turn %s", event.speech_ms, event.turn_id)

    # ---- what the window shows ------------------------------------------------------

    def level(self) -> float:
        return self._level() if self.enabled else 0.0

    def poll(self) -> ListenState:
        """Update :attr:`state` (called on the window's meter timer)."""
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
        if self._capture.hands_free is None or engine is None or not self._session.is_ready:
            return ListenState.LOADING
        if self._capture.user_speaking:
            return ListenState.HEARING
        if engine.speaking:
            return ListenState.REPLYING
        return ListenState.LISTENING

    def _log_echo(self) -> None:
        if self._echo is None:
            return
        stats = self._echo.take_stats()
        if stats.frames:
            log.info(
                "echo canceller: %.1f s of reply, microphone %.1f dB quieter, echo path %s%s (playback dropped so far: %.0f ms)",
                stats.seconds,
                stats.suppression_db,
                self._echo.echo_path.value,
                ": the microphone passed untouched" if self._echo.echo_path is EchoPath.NONE else "",
                self._echo.dropped_playback_ms,
            )

    def close(self) -> None:
        if self.enabled:
            self._shut()
