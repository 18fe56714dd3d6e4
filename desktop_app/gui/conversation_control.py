"""This computer's conversation in the window: its entries, the saved conversations, export.

The entries follow this computer's engine even while a browser's conversation is shown
(the panes then show that one). New, and opening a saved conversation, go back to this
computer first. The Conversations list is read again after every turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog, QWidget

from desktop_app.config import AppPaths
from desktop_app.core.conversation import Conversation, ConversationStore
from desktop_app.core.events import Event, NoSpeech, TurnError, TurnFinished, TurnStarted, ViewGiven
from desktop_app.gui.conversation_panes import ConversationPanes
from desktop_app.gui.conversations_panel import ConversationsPanel
from desktop_app.gui.entry_events import entry_from_record
from desktop_app.gui.export import conversation_markdown
from desktop_app.gui.session import WindowSession
from desktop_app.gui.transcript_view import TranscriptEntry
from desktop_app.storage import atomic_write_text


class ConversationControl(QObject):
    message = Signal(str)  # one line for the status bar
    viewGiven = Signal(object)  # what the model was given of the view with a turn (core.sight.View)

    def __init__(
        self,
        session: WindowSession,
        paths: AppPaths,
        panes: ConversationPanes,
        panel: ConversationsPanel,
        window: QWidget,
        turn_image: Callable[[], QImage | None],  # the frame a turn that starts now was given
        no_speech_hint: Callable[[], str],  # what to do when nothing was heard
        show_local: Callable[[], None],  # back to this computer (from a browser's conversation)
    ) -> None:
        super().__init__(window)
        self._session = session
        self._paths = paths
        self._panes = panes
        self._panel = panel
        self._window = window
        self._turn_image = turn_image
        self._no_speech_hint = no_speech_hint
        self._show_local = show_local
        self.entries: list[TranscriptEntry] = []
        panes.transcript.entries = self.entries
        panel.openRequested.connect(self.open)
        panel.newRequested.connect(self.new)
        panel.exportRequested.connect(self.export_dialog)
        session.event.connect(self._on_event)

    # ---- the engine's events --------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if isinstance(event, TurnStarted):
            self._panes.apply(self.entries, event, self._turn_image())
            return
        if self._panes.apply(self.entries, event) is None:
            return
        if isinstance(event, ViewGiven):
            self.viewGiven.emit(event.view)
        elif isinstance(event, TurnError):
            self.message.emit(f"Error: {event.message}")
        elif isinstance(event, NoSpeech):
            self.message.emit(f"No speech heard: {self._no_speech_hint()}")
        elif isinstance(event, TurnFinished):
            self.refresh_list()

    # ---- conversations --------------------------------------------------------------

    def _store(self) -> ConversationStore:
        engine = self._session.engine
        if engine is not None:
            return engine.store
        from desktop_app.core.engine import default_store

        return default_store(self._paths.data_dir)

    def refresh_list(self) -> None:
        engine = self._session.engine
        self._panel.set_conversations(self._store().list(), engine.conversation.id if engine is not None else None)

    def new(self) -> None:
        self._show_local()
        if self._session.new_conversation() is not None:
            self.entries = []
            self._panes.show(self.entries)
            self.refresh_list()
            self.message.emit("New conversation")

    def open(self, conversation_id: str) -> None:
        self._show_local()
        conversation = self._session.open_conversation(conversation_id)
        if conversation is None:
            self.message.emit("Models are still loading: try again in a moment")
            return
        self.show(conversation)

    def show(self, conversation: Conversation) -> None:
        """Show a saved conversation (continued once it is the engine's)."""
        self._show_local()
        store = self._store()
        self.entries = [
            entry_from_record(record, store.image_path(record.image_file) if record.image_file else None)
            for record in conversation.turns
        ]
        self._panes.show(self.entries, from_top=True)
        self.refresh_list()

    # ---- export ---------------------------------------------------------------------

    def export_to(self, path: Path) -> Path:
        engine = self._session.engine
        if engine is None:
            raise RuntimeError("no conversation yet")
        atomic_write_text(path, conversation_markdown(engine.conversation))
        return path

    def export_dialog(self) -> None:
        engine = self._session.engine
        if engine is None or not engine.conversation.turns:
            self.message.emit("Nothing to export yet")
            return
        default = str(Path.home() / f"{engine.conversation.id}.md")
        name, _ = QFileDialog.getSaveFileName(self._window, "Export conversation", default, "Markdown (*.md)")
        if name:
            self.export_to(Path(name))
            self.message.emit(f"Exported to {name}")
