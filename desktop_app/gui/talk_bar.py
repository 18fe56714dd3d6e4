"""The bottom bar: Talk (hold) or the hands-free switch, mic level, typed message box, Send and Stop."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from desktop_app.gui.icons import icon
from desktop_app.gui.level_meter import LevelMeter
from desktop_app.gui.talk_state import TURN, TalkState

# Everything the talk button can say (gui.talk_state): its width fits the widest.
TALK_TEXTS = ("  Hold to talk", "  Loading models...", "  Listening...", "  Hearing you...", "  Replying \u00b7 talk to interrupt")


class TalkBar(QWidget):
    talkPressed = Signal()
    talkReleased = Signal()
    sendRequested = Signal(str)
    stopRequested = Signal()
    handsFreeToggled = Signal(bool)

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
        widest = 0
        for text in TALK_TEXTS:  # no jumps when the text changes
            self.talk_button.setText(text)
            widest = max(widest, self.talk_button.sizeHint().width())
        self.talk_button.setText("  Hold to talk")
        self.talk_button.setFixedWidth(widest)
        self.meter = LevelMeter()
        self.meter.setFixedWidth(widest)
        self.hands_free = QCheckBox("Hands-free")
        self.hands_free.setObjectName("handsFreeSwitch")
        self.hands_free.setToolTip("Listen all the time: a pause ends your turn, talking over the reply interrupts it")
        self.hands_free.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hands_free.toggled.connect(self.handsFreeToggled)
        self._hands_free = False
        self._listen = "off"  # the talk button's style: "off" (push-to-talk) or the hands-free phase
        talk = QVBoxLayout()
        talk.setSpacing(4)
        talk.addWidget(self.talk_button)
        talk.addWidget(self.meter)
        talk.addWidget(self.hands_free)

        self.input = QLineEdit()
        self.input.setObjectName("messageInput")
        self._key_name = "Space"
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
        self._key_name = name
        how = "hands-free: just talk" if self._hands_free_on() else f"hold {name} to talk"
        self.input.setPlaceholderText(f"Type a message and press Enter  \u00b7  {how}  \u00b7  Esc stops the reply")
        self.talk_button.setToolTip(f"Hold this button, or hold {name}, while you speak")

    def show_state(self, state: TalkState, interruptible: bool = True) -> None:
        """Render the window's talk state (gui.talk_state): the one place these widgets change."""
        hands_free_changed = state.hands_free != self._hands_free
        self._hands_free = state.hands_free
        if hands_free_changed:
            self.set_talk_key_name(self._key_name)
        self.hands_free.blockSignals(True)
        self.hands_free.setChecked(state.hands_free)
        self.hands_free.blockSignals(False)
        self.talk_button.setEnabled(state.can_talk)
        self.send_button.setEnabled(state.can_send)
        self.stop_button.setEnabled(state.can_stop)
        self._listen = ("replying" if state.phase in TURN else state.phase.value) if state.hands_free else "off"
        self._show_talk(state.talk_text(interruptible), state.recording)

    def _hands_free_on(self) -> bool:
        return self._hands_free

    def _show_talk(self, text: str, recording: bool) -> None:
        self.talk_button.setProperty("recording", recording)
        self.talk_button.setProperty("listen", self._listen)
        self.talk_button.setText(text)
        self.talk_button.style().unpolish(self.talk_button)
        self.talk_button.style().polish(self.talk_button)
