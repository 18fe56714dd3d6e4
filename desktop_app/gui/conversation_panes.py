"""The transcript and reply panes showing one conversation: this computer's or a browser's.

Each conversation is a list of entries kept current by its engine's events
(:func:`~desktop_app.gui.entry_events.apply_event`) whether it is shown or not; the panes
show one list at a time. The reply pane follows the newest reply until the user selects
an older one in the transcript.
"""

from __future__ import annotations

from PySide6.QtGui import QImage

from desktop_app.core.events import Event, ReplyDelta, TurnStarted
from desktop_app.gui.entry_events import apply_event
from desktop_app.gui.markdown_view import MarkdownView
from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView


class ConversationPanes:
    def __init__(self, transcript: TranscriptView, reply: MarkdownView) -> None:
        self.transcript = transcript
        self.reply = reply
        self.following = True  # the reply pane shows the newest reply
        transcript.selected.connect(self._on_selected)

    def shows(self, entries: list[TranscriptEntry]) -> bool:
        return self.transcript.entries is entries

    def show(self, entries: list[TranscriptEntry], from_top: bool | None = None) -> None:
        """Show ``entries``, the newest selected; its reply from the top once it is finished."""
        self.transcript.entries = entries
        self.transcript.selected_index = len(entries) - 1 if entries else None
        self.following = True
        last = entries[-1] if entries else None
        if from_top is None:
            from_top = last is not None and last.finished
        self.reply.set_markdown(last.reply_text if last else "", from_top=from_top)
        self.transcript.refresh()

    def apply(self, entries: list[TranscriptEntry], event: Event, image: QImage | None = None) -> TranscriptEntry | None:
        """One engine event on a conversation's ``entries``; the panes follow when they show it.

        The entry the event concerns, or None when it is not one of these turns.
        """
        entry = apply_event(entries, event, image)
        if entry is None or not self.shows(entries):
            return entry
        if isinstance(event, TurnStarted):
            if self.following:
                self.transcript.selected_index = len(entries) - 1
                self.reply.set_markdown("")
        elif entry not in entries:  # removed: it left nothing to show
            self.transcript.selected_index = len(entries) - 1 if entries else None
            self.reply.set_markdown(entries[-1].reply_text if entries else "")
        elif isinstance(event, ReplyDelta) and self.following and entries[-1] is entry:
            self.reply.set_markdown(entry.reply_text)
        self.transcript.refresh()
        return entry

    def _on_selected(self, index: int) -> None:
        self.following = index == len(self.transcript.entries) - 1
        self.reply.set_markdown(self.transcript.entries[index].reply_text, from_top=True)
