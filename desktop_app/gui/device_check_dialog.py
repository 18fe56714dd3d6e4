"""The Device check dialog: the checks of ``aiwebcam doctor``, one row each, in the window.

Each row shows the check's PASS/FAIL/SKIP badge, what it measured and the fix; a level
meter follows the microphone while a check records, and the camera/screen frame is
shown as a preview. The checks themselves are ``desktop_app.device_check``; they run on
the window's qasync loop (audio in worker threads). The spoken turn reuses the window's
loaded models when they are the app's own (embedded) ones. Hands-free is paused while
the checks run (it would take the test phrase for a question).
"""

from __future__ import annotations

import asyncio
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.config import AppPaths, Settings
from desktop_app.device_check import CHECKS, CheckContext, CheckResult, Status, run_checks
from desktop_app.gui.level_meter import LevelMeter

PREVIEW_HEIGHT = 200
BADGE_STYLE = {
    Status.PASS: "background:#1f6f3a;color:white;border-radius:4px;padding:1px 6px;font-weight:bold",
    Status.FAIL: "background:#a33131;color:white;border-radius:4px;padding:1px 6px;font-weight:bold",
    Status.SKIP: "background:#5a6170;color:white;border-radius:4px;padding:1px 6px;font-weight:bold",
}


class _Row:
    def __init__(self, grid: QGridLayout, row: int, key: str, name: str, run) -> None:
        self.key = key
        self.badge = QLabel("\u2014")
        self.badge.setObjectName(f"badge_{key}")
        self.badge.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.badge.setMinimumWidth(48)
        title = QLabel(f"<b>{name}</b>")
        self.detail = QLabel("not run yet")
        self.detail.setObjectName(f"detail_{key}")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix = QLabel("")
        self.fix.setObjectName(f"fix_{key}")
        self.fix.setWordWrap(True)
        self.fix.setStyleSheet("color:#f0b429")
        self.fix.hide()
        self.button = QPushButton("Run")
        self.button.setObjectName(f"run_{key}")
        self.button.clicked.connect(lambda: run([key]))
        text = QWidget()
        box = QVBoxLayout(text)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(title)
        box.addWidget(self.detail)
        box.addWidget(self.fix)
        grid.addWidget(self.badge, row, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(text, row, 1)
        grid.addWidget(self.button, row, 2, Qt.AlignmentFlag.AlignTop)

    def running(self) -> None:
        self.badge.setText("\u2026")
        self.badge.setStyleSheet("")
        self.detail.setText("running...")
        self.fix.hide()

    def show(self, result: CheckResult) -> None:
        self.badge.setText(result.status.value)
        self.badge.setStyleSheet(BADGE_STYLE[result.status])
        self.detail.setText(result.detail)
        self.fix.setText(f"Fix: {result.fix}" if result.fix else "")
        self.fix.setVisible(bool(result.fix))


class DeviceCheckDialog(QDialog):
    """``session``: the window's (its loaded embedded models serve the spoken turn), or None."""

    levelChanged = Signal(float)  # dBFS, from the audio thread (queued to the GUI thread)
    checksFinished = Signal(list)  # the CheckResults of a run

    def __init__(
        self, settings: Settings, paths: AppPaths, session=None, parent: QWidget | None = None, pause: Callable[[], Callable[[], None]] | None = None
    ) -> None:
        """``pause``: called when a run starts, returns what resumes the window afterwards."""
        super().__init__(parent)
        self._pause = pause
        self.setObjectName("deviceCheckDialog")
        self.setWindowTitle("Device check")
        self.resize(760, 720)
        self.settings, self.paths, self.session = settings, paths, session
        self.results: dict[str, CheckResult] = {}
        self.task: asyncio.Future | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Checks the microphone (speak when asked: it records 3 s and plays it back), the speaker "
            "(a beep), the echo your speaker makes in the microphone, the camera or screen, and one spoken "
            "turn on the app's own models. Same checks as <code>aiwebcam doctor</code> in a terminal."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.meter = LevelMeter()
        self.meter.setToolTip("Microphone level while a check records")
        layout.addWidget(self.meter)
        self.levelChanged.connect(self._on_level)  # a bound slot: queued to the GUI thread
        self.progress = QLabel("")
        self.progress.setObjectName("deviceCheckProgress")
        self.progress.setWordWrap(True)
        layout.addWidget(self.progress)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        grid.setVerticalSpacing(10)
        self.rows = {key: _Row(grid, i, key, name, self.run) for i, (key, (name, _target)) in enumerate(CHECKS.items())}
        layout.addLayout(grid)
        self.preview = QLabel()
        self.preview.setObjectName("deviceCheckPreview")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setFixedHeight(PREVIEW_HEIGHT)
        layout.addWidget(self.preview)
        layout.addStretch(1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_all = buttons.addButton("Run all checks", QDialogButtonBox.ButtonRole.ActionRole)
        self.run_all.setObjectName("runAllChecks")
        self.run_all.clicked.connect(lambda: self.run(list(CHECKS)))
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.finished.connect(self._stop)

    # ---- running --------------------------------------------------------------------

    def run(self, keys: list[str]) -> asyncio.Future | None:
        """Run these checks (in the CHECKS order); None when a run is already going."""
        if self.task is not None and not self.task.done():
            return None
        self._set_busy(True)
        self.task = asyncio.ensure_future(self._run([k for k in CHECKS if k in keys]))
        return self.task

    async def _run(self, keys: list[str]) -> list[CheckResult]:
        resume = self._pause() if self._pause is not None else None
        ctx = CheckContext.from_settings(
            self.settings, self.paths, on_level=self.levelChanged.emit, on_progress=self.progress.setText, backends=self._loaded_backends()
        )
        pending = list(keys)
        if pending:
            self.rows[pending[0]].running()

        def on_result(result: CheckResult) -> None:
            key = pending.pop(0)
            self.results[key] = result
            self.rows[key].show(result)
            if result.preview:
                pixmap = QPixmap()
                pixmap.loadFromData(result.preview, "PNG")
                self.preview.setPixmap(pixmap.scaledToHeight(PREVIEW_HEIGHT, Qt.TransformationMode.SmoothTransformation))
            if pending:
                self.rows[pending[0]].running()

        try:
            results = await run_checks(ctx, keys, on_result)
        finally:
            self._set_busy(False)
            self.meter.set_level(0.0)
            if resume is not None:
                resume()
        failed = [r.name for r in results if r.status is Status.FAIL]
        self.progress.setText(f"{len(failed)} of {len(results)} checks failed: {', '.join(failed)}" if failed else f"All {len(results)} checks passed.")
        self.checksFinished.emit(results)
        return results

    def _loaded_backends(self):
        """The window's models when they are loaded and the app's own (the turn then loads nothing)."""
        session = self.session
        if session is None or not getattr(session, "is_ready", False) or session.engine is None:
            return None
        s = session.settings
        if s.resolved_llm_provider() == "embedded" and s.asr_provider == "embedded" and s.tts_provider == "piper":
            return session.engine.backends
        return None

    def _on_level(self, level_db: float) -> None:
        self.meter.set_level((level_db + 60.0) / 60.0)

    def _set_busy(self, busy: bool) -> None:
        self.run_all.setEnabled(not busy)
        for row in self.rows.values():
            row.button.setEnabled(not busy)

    def _stop(self, _result: int = 0) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


def open_device_check(window) -> DeviceCheckDialog:
    """Show the window's Device check dialog (one at a time; not modal)."""
    from shiboken6 import isValid

    dialog = getattr(window, "device_check_dialog", None)
    if dialog is not None and isValid(dialog) and dialog.isVisible():
        dialog.raise_()
        return dialog
    dialog = DeviceCheckDialog(window.session.settings, window.paths, window.session, window, pause=lambda: _pause_hands_free(window))
    dialog.finished.connect(dialog.deleteLater)
    window.device_check_dialog = dialog
    dialog.open()
    return dialog


def _pause_hands_free(window) -> Callable[[], None]:
    """Hands-free off while the checks play and record (it would take the test phrase for a question)."""
    if not window.hands_free.enabled:
        return lambda: None
    window.set_hands_free(False, remember=False)
    return lambda: window.set_hands_free(True, remember=False)
