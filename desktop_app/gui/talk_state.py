"""What the window is doing, in one place: derived from the engine and the capture, rendered by every widget.

The talk bar, the status bar and the Stop button used to keep their own flags, set by
whichever event last touched them; they drifted ("Thinking..." after the reply had
played, Stop enabled under "Ready"). Now :class:`TalkStateModel` reads the truth (the
session, the engine's current turn, the capture, the hands-free controller), reduces it
to one :class:`TalkState`, and emits it when it changes. Widgets only render it.

Nothing here keeps a copy of the engine's state except what the engine says in its
events about the current turn (heard / replied), and a reply that still plays after its
turn finished has no event: while anything is going on the model re-reads every 100 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.core.events import ReplyDelta, Transcript, TurnStarted

if TYPE_CHECKING:
    from desktop_app.core.capture import SpeechCapture
    from desktop_app.gui.hands_free_controller import HandsFreeController
    from desktop_app.gui.push_to_talk import TalkPress
    from desktop_app.gui.session import WindowSession

POLL_MS = 100


class Phase(str, Enum):
    LOADING = "loading"  # models loading, or new settings being applied
    UNAVAILABLE = "unavailable"  # the models could not be loaded
    READY = "ready"  # push-to-talk, nothing going on
    RECORDING = "recording"  # push-to-talk held
    LISTENING = "listening"  # hands-free, waiting for speech
    HEARING = "hearing"  # hands-free, the user talks
    TRANSCRIBING = "transcribing"  # a spoken turn: the words are not known yet
    THINKING = "thinking"  # no reply yet
    SPEAKING = "speaking"  # the reply streams or its audio still plays


BUSY = (Phase.RECORDING, Phase.TRANSCRIBING, Phase.THINKING, Phase.SPEAKING)
TURN = (Phase.TRANSCRIBING, Phase.THINKING, Phase.SPEAKING)

STATUS = {
    Phase.RECORDING: "Listening... release to send",
    Phase.HEARING: "Hearing you...",
    Phase.TRANSCRIBING: "Transcribing...",
    Phase.THINKING: "Thinking...",
    Phase.SPEAKING: "Speaking \u00b7 Esc stops",
}


@dataclass(frozen=True)
class TalkState:
    phase: Phase
    hands_free: bool = False
    remote: bool = False  # a browser's conversation is shown: talking waits for "This computer"

    @property
    def can_stop(self) -> bool:
        """Stop (and Esc) would stop something: a held press, a turn, or reply audio."""
        return self.phase in BUSY

    @property
    def can_talk(self) -> bool:
        """The talk button takes a press (pressing during a reply interrupts it)."""
        return not self.hands_free and not self.remote and self.phase not in (Phase.LOADING, Phase.UNAVAILABLE)

    @property
    def can_send(self) -> bool:
        return not self.remote and self.phase not in (Phase.LOADING, Phase.UNAVAILABLE)

    @property
    def recording(self) -> bool:
        """The microphone's words go into a turn right now (the red frame, the live meter)."""
        return self.phase in (Phase.RECORDING, Phase.HEARING)

    def status_line(self, note: str) -> str:
        """The status bar's line: what is going on, else ``note`` (the session's last line)."""
        if self.phase in STATUS:
            return STATUS[self.phase]
        if self.phase == Phase.LISTENING:
            return "Hands-free \u00b7 listening"
        return note

    def talk_text(self, interruptible: bool = True) -> str:
        """The talk button's words."""
        if self.phase == Phase.LOADING:
            return "  Loading models..."
        if not self.hands_free:
            return "  Listening..." if self.phase == Phase.RECORDING else "  Hold to talk"
        if self.phase == Phase.HEARING:
            return "  Hearing you..."
        if self.phase in TURN:
            return "  Replying \u00b7 talk to interrupt" if interruptible else "  Replying..."
        return "  Listening..."


class TalkStateModel(QObject):
    """The one source of the window's talk state; ``changed`` carries each new :class:`TalkState`."""

    changed = Signal(object)

    def __init__(
        self,
        session: WindowSession,
        capture: SpeechCapture,
        talk_press: TalkPress,
        hands_free: HandsFreeController,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._session = session
        self._capture = capture
        self._talk_press = talk_press
        self._hands_free = hands_free
        self._failed = False
        self._remote = False
        self._turn_id = ""
        self._heard = False  # the current turn's words are known (typed, or transcribed)
        self._replied = False  # its reply has started
        self._updating = False
        self.state = TalkState(Phase.LOADING)
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.update)
        session.event.connect(self._on_event)
        session.ready.connect(self.update)
        session.failed.connect(self._on_failed)
        session.engineChanged.connect(self.update)
        talk_press.recordingChanged.connect(self.update)
        hands_free.stateChanged.connect(self.update)
        capture.subscribe(lambda _event: self.update())

    def set_remote(self, remote: bool) -> None:
        self._remote = remote
        self.update()

    def _on_failed(self, _message: str) -> None:
        self._failed = True
        self.update()

    def _on_event(self, event) -> None:
        if isinstance(event, TurnStarted):
            self._turn_id = event.turn_id
            self._heard = bool(event.typed_text)
            self._replied = False
        elif getattr(event, "turn_id", None) == self._turn_id:
            if isinstance(event, Transcript):
                self._heard = True
            elif isinstance(event, ReplyDelta):
                self._replied = True
        self.update()

    def update(self) -> TalkState:
        """Re-read the truth; emit ``changed`` when the state differs."""
        if self._updating:
            return self.state
        self._updating = True
        try:
            if self._hands_free.enabled:
                self._hands_free.poll()  # (its own view of the same truth: the talk button's words)
            state = TalkState(self._phase(), hands_free=self._hands_free.enabled, remote=self._remote)
        finally:
            self._updating = False
        if state.phase in BUSY or state.phase in (Phase.HEARING, Phase.LOADING):
            if not self._timer.isActive():
                self._timer.start()
        else:
            self._timer.stop()
        if state != self.state:
            self.state = state
            self.changed.emit(state)
        return state

    def _phase(self) -> Phase:
        session = self._session
        engine = session.engine
        if self._failed and not session.is_ready:
            return Phase.UNAVAILABLE
        if engine is None or not session.is_ready:
            return Phase.LOADING
        if self._talk_press.recording:
            return Phase.RECORDING
        if self._hands_free.enabled and self._capture.user_speaking:
            return Phase.HEARING
        turn = engine.current
        if turn is not None and not turn.done:
            if turn.id != self._turn_id:  # submitted, its first event not yet delivered
                return Phase.TRANSCRIBING
            if self._replied:
                return Phase.SPEAKING
            return Phase.THINKING if self._heard else Phase.TRANSCRIBING
        if engine.speaking:  # the reply's audio still plays
            return Phase.SPEAKING
        if self._capture.holding and not self._hands_free.enabled:  # released: the tail is collected
            return Phase.TRANSCRIBING
        if session.applying:  # new settings: a new engine is being built
            return Phase.LOADING
        return Phase.LISTENING if self._hands_free.enabled else Phase.READY
