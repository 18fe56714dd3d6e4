"""Typed events a turn emits. Faces (GUI, browser server, CLI) subscribe to these.

Interruption semantics live here: after a :class:`TurnCancelled`, no
:class:`AudioPacket` or :class:`ReplyDelta` of that turn follows, and audio sinks
have been told to drop what they still hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Union

from desktop_app.core.metrics import TurnMetrics
from desktop_app.core.sight import View


@dataclass(frozen=True)
class TurnStarted:
    turn_id: str
    typed_text: str | None = None


@dataclass(frozen=True)
class Transcript:
    """What the user said (ASR result), possibly joined with typed text."""

    turn_id: str
    text: str


@dataclass(frozen=True)
class ReplyDelta:
    """A piece of the assistant's reply text, as it streams."""

    turn_id: str
    text: str


@dataclass(frozen=True)
class ChunkSpoken:
    """A speakable chunk of the reply whose audio has been fully produced."""

    turn_id: str
    index: int
    text: str
    audio_ms: float


@dataclass(frozen=True)
class AudioPacket:
    """One 20 ms, 48 kHz Opus packet of the spoken reply."""

    turn_id: str
    sequence: int
    data: bytes

    DURATION_MS = 20


@dataclass(frozen=True)
class MetricsReady:
    turn_id: str
    metrics: TurnMetrics


@dataclass(frozen=True)
class ViewGiven:
    """What the model gets of the user's view this turn: the image, its text, or a note
    that it cannot see it (see ``core.sight``)."""

    turn_id: str
    view: View


@dataclass(frozen=True)
class TurnError:
    """Something failed; ``message`` is one user-facing line without secrets."""

    turn_id: str
    message: str
    stage: str  # "asr", "llm", "tts", "input"


@dataclass(frozen=True)
class NoSpeech:
    """The audio held no speech: no turn is recorded."""

    turn_id: str


@dataclass(frozen=True)
class TurnCancelled:
    turn_id: str
    delivered_text: str


@dataclass(frozen=True)
class TurnFinished:
    """The turn is over and stored (if there was something to store)."""

    turn_id: str
    user_text: str
    reply_text: str
    interrupted: bool
    audio_ms: float
    metrics: TurnMetrics = field(default_factory=TurnMetrics)


Event = Union[
    TurnStarted,
    Transcript,
    ReplyDelta,
    ChunkSpoken,
    AudioPacket,
    MetricsReady,
    ViewGiven,
    TurnError,
    NoSpeech,
    TurnCancelled,
    TurnFinished,
]
Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out to listeners. Listeners must be quick and must not block."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            listener(event)
