"""Where the user left the window: its geometry, the splitters and the video source.

Kept in ``window.ini`` in the config dir (Qt's own format for geometry and splitter
state); restored when the window opens, saved when it closes. Off for screenshots and
tests, so the user's layout is neither used nor overwritten.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter


class WindowLayoutMemory:
    def __init__(self, window: QMainWindow, splitters: list[QSplitter], config_dir: Path, enabled: bool = True) -> None:
        self._window = window
        self._splitters = splitters
        self._file = config_dir / "window.ini"
        self.enabled = enabled

    def _stored(self) -> QSettings:
        return QSettings(str(self._file), QSettings.Format.IniFormat)

    def restore(self) -> str:
        """Put the window and splitters back; the label of the source shown last ("" if none)."""
        if not self.enabled:
            return ""
        stored = self._stored()
        geometry = stored.value("geometry")
        if geometry is not None:
            self._window.restoreGeometry(geometry)
        for splitter in self._splitters:
            state = stored.value(f"splitters/{splitter.objectName()}")
            if state is not None:
                splitter.restoreState(state)
        return str(stored.value("video/source", ""))

    def save(self, source_label: str) -> None:
        if not self.enabled:
            return
        stored = self._stored()
        stored.setValue("geometry", self._window.saveGeometry())
        for splitter in self._splitters:
            stored.setValue(f"splitters/{splitter.objectName()}", splitter.saveState())
        stored.setValue("video/source", source_label)
        stored.sync()
