"""Engine events (and saved turns) -> transcript entries, for any conversation the window shows.

The window keeps one list of entries per source (this computer, each connected
browser); these functions update a list without touching widgets, so a list that is
not on screen stays current.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtGui import QImage

from desktop_app.core.conversation import TurnRecord

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
from desktop_app.core.model_wait import WaitingForModel
from desktop_app.gui.transcript_view import TranscriptEntry


def metrics_line(metrics: TurnMetrics | dict) -> str:
    if isinstance(metrics, dict):
        known = {k: v for k, v in metrics.items() if k in TurnMetrics.__dataclass_fields__}
        metrics = TurnMetrics(**known)
    return metrics.summary()


def _local_time(iso: str) -> datetime:
    try:
        return datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return datetime.now(timezone.utc).astimezone()


def entry_from_record(record: TurnRecord, image_path: Path | None) -> TranscriptEntry:
    """A saved turn as the transcript shows it (``image_path``: its frame, when it has one)."""
    image = None
    if image_path is not None:
        loaded = QImage(str(image_path))
        image = None if loaded.isNull() else loaded
    state = "interrupted" if record.interrupted else ("error" if record.error else "done")
    return TranscriptEntry(
        user_text=record.user_text,
        reply_text=record.reply_text,
        time=_local_time(record.created),
        image=image,
        metrics=metrics_line(record.metrics),
        state=state,
        error=record.error,
    )


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
        entry.waiting = ""
        entry.state = "speaking"
    elif isinstance(event, ChunkSpoken):
        entry.state = "speaking"
    elif isinstance(event, MetricsReady):
        entry.metrics = metrics_line(event.metrics)
    elif isinstance(event, WaitingForModel):
        if not entry.reply_text:
            entry.waiting = event.line
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
        entry.waiting = ""
        if event.interrupted:
            entry.state = "interrupted"
        elif entry.state not in ("error", "no-speech"):
            entry.state = "done"
        entry.metrics = entry.metrics or metrics_line(event.metrics)
    return entry
