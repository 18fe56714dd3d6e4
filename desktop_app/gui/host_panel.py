"""The Host panel: the join URL with a QR code and a copy button, and who is connected.

The list starts with "This computer"; selecting a connected browser asks the window to
show that browser's video and conversation (``viewRequested`` with its session id, ""
for this computer).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

LOCAL = ""  # the view id of this computer
ID_ROLE = Qt.ItemDataRole.UserRole


class HostPanel(QWidget):
    viewRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hostPanel")
        self.url = QLineEdit()
        self.url.setObjectName("joinUrl")
        self.url.setReadOnly(True)
        self.url.setPlaceholderText("Not hosting")
        self.copy_button = QPushButton("Copy")
        self.copy_button.setToolTip("Copy the join URL")
        self.copy_button.clicked.connect(self.copy_url)
        self.qr = QLabel()
        self.qr.setObjectName("joinQr")
        self.qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr.setMinimumHeight(120)
        self.hint = QLabel("Open the link (or scan the code) on a phone or laptop on this network.")
        self.hint.setWordWrap(True)
        self.hint.setObjectName("hostHint")
        self.browsers = QListWidget()
        self.browsers.setObjectName("browserList")
        self.browsers.currentItemChanged.connect(self._on_current)
        local = QListWidgetItem("This computer")
        local.setData(ID_ROLE, LOCAL)
        self.browsers.addItem(local)
        self.browsers.setCurrentRow(0)

        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        row.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addLayout(row)
        layout.addWidget(self.qr)
        layout.addWidget(self.hint)
        layout.addWidget(QLabel("Show"))
        layout.addWidget(self.browsers, 1)

    # ---- the URL --------------------------------------------------------------------

    def set_url(self, url: str) -> None:
        self.url.setText(url)
        if url:
            from desktop_app.gui.qr import qr_pixmap

            self.qr.setPixmap(qr_pixmap(url, module_px=4))
        else:
            self.qr.setPixmap(QPixmap())

    def qr_pixmap(self) -> QPixmap:
        return self.qr.pixmap()

    def copy_url(self) -> None:
        if self.url.text():
            QGuiApplication.clipboard().setText(self.url.text())

    # ---- the browsers ---------------------------------------------------------------

    def _row(self, view_id: str) -> int:
        for row in range(self.browsers.count()):
            if self.browsers.item(row).data(ID_ROLE) == view_id:
                return row
        return -1

    def ids(self) -> list[str]:
        return [self.browsers.item(row).data(ID_ROLE) for row in range(self.browsers.count())]

    def add_browser(self, view_id: str, label: str) -> None:
        if self._row(view_id) < 0:
            item = QListWidgetItem(label)
            item.setData(ID_ROLE, view_id)
            self.browsers.addItem(item)

    def set_label(self, view_id: str, label: str) -> None:
        row = self._row(view_id)
        if row >= 0:
            self.browsers.item(row).setText(label)

    def remove_browser(self, view_id: str) -> None:
        row = self._row(view_id)
        if row > 0:
            was_current = self.browsers.currentRow() == row
            self.browsers.takeItem(row)
            if was_current:
                self.browsers.setCurrentRow(0)

    def clear_browsers(self) -> None:
        while self.browsers.count() > 1:
            self.browsers.takeItem(1)
        self.browsers.setCurrentRow(0)

    def select(self, view_id: str) -> None:
        row = self._row(view_id)
        if row >= 0:
            self.browsers.setCurrentRow(row)

    def _on_current(self, current: QListWidgetItem | None, _previous) -> None:
        self.viewRequested.emit(current.data(ID_ROLE) if current is not None else LOCAL)
