"""The WebSocket protocol between the browser page and the server: typed messages.

Every message is one JSON object with a ``type``. The browser sends:

==================================  =================================================
``{"type": "offer", "sdp"}``        its SDP offer (ICE gathering complete: no trickle)
``{"type": "ptt", "action"}``       push-to-talk ``"start"`` / ``"stop"``
``{"type": "hands_free", "on"}``    hands-free on/off; optional ``"barge_in"`` (bool)
                                    and ``"pause_ms"`` (silence that ends a turn,
                                    200-3000); without them the server's settings
                                    apply (``barge_in``, ``turn_pause_ms``)
``{"type": "cancel"}``              interrupt the reply
``{"type": "text", "text"}``        a typed message (a turn without audio)
``{"type": "ping"}``                keep-alive; answered with ``pong``
``{"type": "source", "source"}``    what the video shows: ``"camera"`` or ``"screen"``
==================================  =================================================

The server sends ``hello``, ``answer``, ``peer`` (connection state), ``recording``,
engine events (``turn_started``, ``transcript``, ``delta``, ``metrics``, ``cancelled``,
``finished``, ``turn_error``, ``no_speech``; ``waiting``: the model has sent no word
yet after ``waited_s``, with a ``message`` line, every second until it does), ``error``
(a protocol error: the connection stays open) and ``pong``. Hands-free adds:

* ``{"type": "hands_free", "on", "barge_in"?, "pause_ms"?}``: what the server applied
  (:class:`HandsFreeStatus`; the options only when on);
* ``{"type": "listening", "state"}``: ``"off"``, ``"idle"`` (waiting for speech) or
  ``"hearing"`` (the user is talking: an utterance is being captured);
* ``{"type": "barge_in", "turn_id", "stop_ms"}``: the user talked over the reply, which
  stopped ``stop_ms`` after the voice-activity decision (``cancelled`` follows or
  precedes it, from the engine);
* ``{"type": "utterance", "turn_id", "speech_ms"}``: the pause ended the user's speech,
  submitted as that turn;
* ``{"type": "speech_ignored"}``: speech while the reply plays, with barge-in off.

:func:`parse_client_message` validates untrusted input and raises
:class:`ProtocolError` with one user-facing line; it never raises anything else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Union

from desktop_app.config import TURN_PAUSE_MS_RANGE
from desktop_app.core.events import (
    Event,
    MetricsReady,
    NoSpeech,
    ReplyDelta,
    Transcript,
    TurnCancelled,
    TurnError,
    TurnFinished,
    TurnStarted,
)
from desktop_app.core.model_wait import WaitingForModel
from desktop_app.core.hands_free import BargeIn, HandsFreeEvent, HandsFreeOptions, SpeechIgnored, UtteranceSubmitted
from desktop_app.core.turn_detector import SpeechEnded, SpeechStarted, TurnDetectorConfig

MAX_MESSAGE_BYTES = 64 * 1024  # an SDP offer with audio + video is ~5 KB
MAX_TEXT_CHARS = 4000


class ProtocolError(Exception):
    """A message the server cannot accept. ``str(err)`` is one line for the client."""


# ---- browser -> server --------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    sdp: str


@dataclass(frozen=True)
class TalkButton:
    """The page's push-to-talk (Space or the Talk button) went down (pressed) or up."""

    pressed: bool


@dataclass(frozen=True)
class HandsFreeSwitch:
    on: bool
    barge_in: bool | None = None  # None: the server's setting
    pause_ms: int | None = None


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class TypedText:
    text: str


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class ViewSource:
    """What the page's video shows: the camera or a shared screen (the AI is told)."""

    source: Literal["camera", "screen"]


ClientMessage = Union[Offer, TalkButton, HandsFreeSwitch, Cancel, TypedText, Ping, ViewSource]


def parse_client_message(raw: str | bytes, max_bytes: int = MAX_MESSAGE_BYTES) -> ClientMessage:
    """Validate one WebSocket text message from the browser."""
    size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ProtocolError(f"message too large ({size} bytes; the limit is {max_bytes})")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("malformed message: not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed message: expected a JSON object")
    kind = data.get("type")
    if kind == "offer":
        sdp = data.get("sdp")
        if not isinstance(sdp, str) or not sdp.startswith("v=0"):
            raise ProtocolError("malformed offer: 'sdp' must be an SDP string starting with v=0")
        if "m=audio" not in sdp:
            raise ProtocolError("malformed offer: no audio section")
        return Offer(sdp)
    if kind == "ptt":
        action = data.get("action")
        if action not in ("start", "stop"):
            raise ProtocolError("malformed ptt message: 'action' must be 'start' or 'stop'")
        return TalkButton(action == "start")
    if kind == "hands_free":
        return _hands_free_switch(data)
    if kind == "cancel":
        return Cancel()
    if kind == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("malformed text message: 'text' must be a non-empty string")
        if len(text) > MAX_TEXT_CHARS:
            raise ProtocolError(f"text too long (the limit is {MAX_TEXT_CHARS} characters)")
        return TypedText(text.strip())
    if kind == "ping":
        return Ping()
    if kind == "source":
        source = data.get("source")
        if source not in ("camera", "screen"):
            raise ProtocolError("malformed source message: 'source' must be 'camera' or 'screen'")
        return ViewSource(source)
    if not isinstance(kind, str):
        raise ProtocolError("malformed message: missing 'type'")
    raise ProtocolError(f"unknown message type {kind[:40]!r}")


def _hands_free_switch(data: dict[str, Any]) -> HandsFreeSwitch:
    on = data.get("on")
    if not isinstance(on, bool):
        raise ProtocolError("malformed hands_free message: 'on' must be true or false")
    barge_in = data.get("barge_in")
    if barge_in is not None and not isinstance(barge_in, bool):
        raise ProtocolError("malformed hands_free message: 'barge_in' must be true or false")
    pause_ms = data.get("pause_ms")
    low, high = TURN_PAUSE_MS_RANGE
    if pause_ms is not None and (isinstance(pause_ms, bool) or not isinstance(pause_ms, int) or not low <= pause_ms <= high):
        raise ProtocolError(f"malformed hands_free message: 'pause_ms' must be a whole number from {low} to {high}")
    return HandsFreeSwitch(on, barge_in, pause_ms)


# ---- server -> browser --------------------------------------------------------------


def dumps(message: dict[str, Any]) -> str:
    """One message as the WebSocket's text: compact JSON, UTF-8 as is."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"))


def error_message(message: str, code: str = "protocol") -> dict[str, Any]:
    return {"type": "error", "code": code, "message": " ".join(message.split())[:300]}


ListeningState = Literal["off", "idle", "hearing"]


@dataclass(frozen=True)
class HandsFreeStatus:
    """Hands-free as the server applied it (the answer to :class:`HandsFreeSwitch`)."""

    on: bool
    barge_in: bool = HandsFreeOptions.barge_in
    pause_ms: int = TurnDetectorConfig.pause_ms

    def as_message(self) -> dict[str, Any]:
        if not self.on:
            return {"type": "hands_free", "on": False}
        return {"type": "hands_free", "on": True, "barge_in": self.barge_in, "pause_ms": self.pause_ms}


@dataclass(frozen=True)
class Listening:
    state: ListeningState

    def as_message(self) -> dict[str, Any]:
        return {"type": "listening", "state": self.state}


def hands_free_message(event: HandsFreeEvent) -> dict[str, Any] | None:
    """The page's view of a hands-free event."""
    if isinstance(event, SpeechStarted):
        return Listening("hearing").as_message()
    if isinstance(event, SpeechEnded):
        return Listening("idle").as_message()
    if isinstance(event, BargeIn):
        return {"type": "barge_in", "turn_id": event.turn_id, "stop_ms": round(event.stopped_at_ms - event.decided_at_ms, 1)}
    if isinstance(event, UtteranceSubmitted):
        return {"type": "utterance", "turn_id": event.turn_id, "speech_ms": round(event.speech_ms)}
    if isinstance(event, SpeechIgnored):
        return {"type": "speech_ignored"}
    return None


def event_message(event: Event) -> dict[str, Any] | None:
    """The page's view of an engine event (audio packets travel over RTP, not here)."""
    if isinstance(event, TurnStarted):
        return {"type": "turn_started", "turn_id": event.turn_id}
    if isinstance(event, Transcript):
        return {"type": "transcript", "turn_id": event.turn_id, "text": event.text}
    if isinstance(event, ReplyDelta):
        return {"type": "delta", "turn_id": event.turn_id, "text": event.text}
    if isinstance(event, MetricsReady):
        return {"type": "metrics", "turn_id": event.turn_id, "metrics": event.metrics.as_dict(), "summary": event.metrics.summary()}
    if isinstance(event, TurnCancelled):
        return {"type": "cancelled", "turn_id": event.turn_id}
    if isinstance(event, TurnFinished):
        return {"type": "finished", "turn_id": event.turn_id, "interrupted": event.interrupted, "audio_ms": round(event.audio_ms)}
    if isinstance(event, TurnError):
        return {"type": "turn_error", "turn_id": event.turn_id, "message": event.message, "stage": event.stage}
    if isinstance(event, NoSpeech):
        return {"type": "no_speech", "turn_id": event.turn_id}
    if isinstance(event, WaitingForModel):
        return {"type": "waiting", "turn_id": event.turn_id, "waited_s": event.waited_s, "message": event.line}
    return None
