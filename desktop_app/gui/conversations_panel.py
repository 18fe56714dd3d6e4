"""Saved conversations: a list to open one, plus New and Export buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from desktop_app.core.conversation import ConversationSummary
from desktop_app.gui.icons import icon


def _when(created: str) -> str:
    # ISO 8601 "2025-01-31T14:02:11+00:00" -> "2025-01-31 14:02"
    return created[:16].replace("T", " ") if created else ""


class ConversationsPanel(QWidget):
    openRequested = Signal(str)  # conversation id
    newRequested = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("conversationsPanel")
        title = QLabel("Conversations")
        title.setObjectName("paneTitle")
        self.new_button = QPushButton(icon("new"), "New")
        self.new_button.setToolTip("Start a new conversation (Ctrl+N)")
        self.export_button = QPushButton(icon("export"), "Export")
        self.export_button.setToolTip("Export the current conversation to Markdown (Ctrl+E)")
        for b in (self.new_button, self.export_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.new_button.clicked.connect(self.newRequested)
        self.export_button.clicked.connect(self.exportRequested)
        self.list = QListWidget()
        self.list.setObjectName("conversationList")
        self.list.itemActivated.connect(self._activated)
        self.list.itemDoubleClicked.connect(self._activated)
        header = QHBoxLayout()
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.new_button)
        header.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addLayout(header)
        layout.addWidget(self.list)

    def set_conversations(self, summaries: list[ConversationSummary], current_id: str | None) -> None:
        self.list.clear()
        for s in summaries:
            item = QListWidgetItem(f"{s.title or 'Untitled'}\n{_when(s.created)} \u00b7 {s.turns} turn{'s' if s.turns != 1 else ''}")
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            item.setToolTip(s.id)
            self.list.addItem(item)
            if s.id == current_id:
                item.setSelected(True)
        if not summaries:
            item = QListWidgetItem("No saved conversations yet")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.list.addItem(item)

    def ids(self) -> list[str]:
        out = []
        for i in range(self.list.count()):
            value = self.list.item(i).data(Qt.ItemDataRole.UserRole)
            if value:
                out.append(str(value))
        return out

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        if value:
            self.openRequested.emit(str(value))
