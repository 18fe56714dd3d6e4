"""The status bar: the state line (always shown) and one transient note that fades.

Qt's own temporary message hides the bar's other widgets while it shows: a "Thinking..."
note then stood in front of the state for six seconds after the reply had finished.
Here the note sits beside the state line, there is at most one (a new one replaces it),
and it fades out by itself. ``showMessage``/``currentMessage`` keep Qt's names.
"""

from __future__ import annotations

from PySide6.QtCore import QEasingCurve, QPropertyAnimation, QTimer
from PySide6.QtWidgets import QGraphicsOpacityEffect, QLabel, QStatusBar, QWidget

NOTE_MS = 6000  # shown this long, the last FADE_MS of it fading
FADE_MS = 1200


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = QLabel("Loading models...")
        self.state_label.setObjectName("statusLabel")
        self.note_label = QLabel("")
        self.note_label.setObjectName("noteLabel")
        self._effect = QGraphicsOpacityEffect(self.note_label)
        self._effect.setOpacity(1.0)
        self.note_label.setGraphicsEffect(self._effect)
        self._fade = QPropertyAnimation(self._effect, b"opacity", self)
        self._fade.setDuration(FADE_MS)
        self._fade.setStartValue(1.0)
        self._fade.setEndValue(0.0)
        self._fade.setEasingCurve(QEasingCurve.Type.InQuad)
        self._fade.finished.connect(self.clearMessage)
        self._hold = QTimer(self)
        self._hold.setSingleShot(True)
        self._hold.timeout.connect(self._fade.start)
        for label in (self.state_label, self.note_label):
            # a long line is cut: without this the window grew wider than the screen with
            # it (a device's lost line), and the device lines at the right went off screen
            label.setMinimumWidth(1)
        self.addWidget(self.state_label)
        self.addWidget(self.note_label, 1)

    def showMessage(self, text: str, timeout: int = NOTE_MS) -> None:  # noqa: N802 (Qt's name)
        """Show ``text`` as the note (replacing any), fading out after ``timeout`` ms (0: stays)."""
        self._fade.stop()
        self._hold.stop()
        self._effect.setOpacity(1.0)
        self.note_label.setText(f"\u2014 {text}" if text else "")
        if text and timeout > 0:
            self._hold.start(max(0, timeout - FADE_MS))

    def currentMessage(self) -> str:  # noqa: N802 (Qt's name)
        text = self.note_label.text()
        return text[2:] if text.startswith("\u2014 ") else text

    def clearMessage(self) -> None:  # noqa: N802 (Qt's name)
        self._fade.stop()
        self._hold.stop()
        self.note_label.setText("")
        self._effect.setOpacity(1.0)
