"""Engine events -> transcript entries, for any conversation the window shows.

The window keeps one list of entries per source (this computer, each connected
browser); these functions update a list without touching widgets, so a list that is
not on screen stays current.
"""

from __future__ import annotations

from PySide6.QtGui import QImage

from desktop_app.core.events import (
    ChunkSpoken,
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
from desktop_app.core.metrics import TurnMetrics
from desktop_app.gui.transcript_view import TranscriptEntry


def metrics_line(metrics: TurnMetrics | dict) -> str:
    if isinstance(metrics, dict):
        known = {k: v for k, v in metrics.items() if k in TurnMetrics.__dataclass_fields__}
        metrics = TurnMetrics(**known)
    return metrics.summary()


def find_entry(entries: list[TranscriptEntry], turn_id: str) -> TranscriptEntry | None:
    for entry in reversed(entries):
        if entry.turn_id == turn_id:
            return entry
    return None


def apply_event(entries: list[TranscriptEntry], event: Event, image: QImage | None = None) -> TranscriptEntry | None:
    """Update ``entries`` with one engine event; the entry it concerns (None: not ours).

    ``image`` is the frame shown with a new turn (used on TurnStarted only). The
    transcript shows only what happened: a turn that heard no speech, or was cut before
    anything was heard or said, leaves no entry (it is removed from ``entries``).
    """
    if isinstance(event, TurnStarted):
        entry = TranscriptEntry(turn_id=event.turn_id, user_text=event.typed_text or "", image=image, state="thinking")
        entries.append(entry)
        return entry
    entry = find_entry(entries, getattr(event, "turn_id", ""))
    if entry is None:
        return None
    if isinstance(event, Transcript):
        entry.user_text = event.text
    elif isinstance(event, ReplyDelta):
        entry.reply_text += event.text
        entry.state = "speaking"
    elif isinstance(event, ChunkSpoken):
        entry.state = "speaking"
    elif isinstance(event, MetricsReady):
        entry.metrics = metrics_line(event.metrics)
    elif isinstance(event, TurnError):
        entry.error = event.message
        entry.state = "error"
    elif isinstance(event, NoSpeech):
        entry.state = "no-speech"
        entries.remove(entry)  # nothing happened: the status bar says so for a moment
    elif isinstance(event, TurnCancelled):
        entry.state = "interrupted"
        if not entry.user_text and not entry.reply_text:
            entries.remove(entry)  # cut before anything was heard or said: no empty entry
    elif isinstance(event, TurnFinished):
        if event.interrupted:
            entry.state = "interrupted"
        elif entry.state not in ("error", "no-speech"):
            entry.state = "done"
        entry.metrics = entry.metrics or metrics_line(event.metrics)
    return entry
