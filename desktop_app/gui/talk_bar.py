"""The bottom bar: Talk (hold), mic level, typed message box, Send and Stop."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop_app.gui.icons import icon
from desktop_app.gui.level_meter import LevelMeter


class TalkBar(QWidget):
    talkPressed = Signal()
    talkReleased = Signal()
    sendRequested = Signal(str)
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("bottomBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.talk_button = QPushButton(icon("mic"), "  Hold to talk")
        self.talk_button.setObjectName("talkButton")
        self.talk_button.setToolTip("Hold this button, or hold Space, while you speak")
        self.talk_button.setIconSize(QSize(18, 18))
        self.talk_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.talk_button.pressed.connect(self.talkPressed)
        self.talk_button.released.connect(self.talkReleased)
        self.meter = LevelMeter()
        self.meter.setFixedWidth(self.talk_button.sizeHint().width())
        talk = QVBoxLayout()
        talk.setSpacing(4)
        talk.addWidget(self.talk_button)
        talk.addWidget(self.meter)

        self.input = QLineEdit()
        self.input.setObjectName("messageInput")
        self.set_talk_key_name("Space")
        self.input.setClearButtonEnabled(True)
        self.input.returnPressed.connect(self._send)
        self.send_button = QPushButton(icon("send"), "Send")
        self.send_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.send_button.clicked.connect(self._send)
        self.stop_button = QPushButton(icon("stop"), "Stop")
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop the reply (Esc)")
        self.stop_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stopRequested)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.setSpacing(10)
        layout.addLayout(talk)
        layout.addWidget(self.input, 1)
        layout.addWidget(self.send_button)
        layout.addWidget(self.stop_button)

    def _send(self) -> None:
        text = self.input.text().strip()
        if text:
            self.sendRequested.emit(text)

    def set_talk_key_name(self, name: str) -> None:
        """Say which key talks (the push-to-talk setting)."""
        self.input.setPlaceholderText(f"Type a message and press Enter  \u00b7  hold {name} to talk  \u00b7  Esc stops the reply")
        self.talk_button.setToolTip(f"Hold this button, or hold {name}, while you speak")

    def set_ready(self, ready: bool) -> None:
        self.talk_button.setEnabled(ready)
        self.send_button.setEnabled(ready)

    def set_recording(self, recording: bool) -> None:
        self.talk_button.setProperty("recording", recording)
        self.talk_button.setText("  Listening..." if recording else "  Hold to talk")
        self.talk_button.style().unpolish(self.talk_button)
        self.talk_button.style().polish(self.talk_button)
