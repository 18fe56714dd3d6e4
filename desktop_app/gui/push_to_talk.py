"""Push-to-talk in the window: the key (or the Talk button) drives the engine's capture.

The microphone is already open (:mod:`desktop_app.gui.armed_microphone`) and feeds the
:class:`~desktop_app.core.capture.SpeechCapture`; pressing only starts the utterance
(with the pre-roll, so a word spoken with the press is kept, and transcription while
the key is held), releasing submits it. Nothing here records or transcribes.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal

from desktop_app.core.capture import PressDropped, SpeechCapture


class TalkPress(QObject):
    """One push-to-talk press, held with the talk key or the Talk button: ``recording`` while down."""

    recordingChanged = Signal(bool)
    message = Signal(str)  # one line for the status bar

    def __init__(
        self,
        capture: SpeechCapture,
        arm_microphone: Callable[[], str | None],  # opens it if needed; else why it cannot
        key_name: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._capture = capture
        self._arm = arm_microphone
        self._key_name = key_name
        self.recording = False
        capture.subscribe(self._on_capture_event)

    def press(self) -> None:
        if self.recording:
            return
        problem = self._arm()
        if problem:
            self.message.emit(f"{problem}: type your message instead")
            return
        if self._capture.engine is None:
            self.message.emit("Models are still loading: try again in a moment")
            return
        if not self._capture.press():
            return
        self.recording = True
        self.recordingChanged.emit(True)  # (the status line says so: gui.talk_state)

    def release(self) -> None:
        if not self.recording:
            return
        self.recording = False
        self._capture.release()
        self.recordingChanged.emit(False)

    def discard(self) -> bool:
        """Esc while held: nothing is sent. True when a press was dropped."""
        if not self.recording:
            return False
        self.recording = False
        self._capture.discard()
        self.recordingChanged.emit(False)
        return True

    def _on_capture_event(self, event) -> None:
        if isinstance(event, PressDropped):
            reason = event.reason
            if reason.startswith("too short"):
                reason = f"Too short: hold {self._key_name()} while you speak"
            self.message.emit(reason[:1].upper() + reason[1:])
