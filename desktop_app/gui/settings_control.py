"""The window's settings: the dialog, saving them (the key to the keyring when one works), applying them.

Saving applies without a restart: first the window's own parts (keys, microphone,
hands-free), then the engine through the session (a new one when the models change;
a hosted server moves over to it). A choice made in the window itself (the Hands-free
switch) is kept in the settings file the same way. Saving runs in a task this object
owns: a failure is logged, and closing the window cancels what is still running.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from desktop_app.config import AppPaths, Settings
from desktop_app.core.turn import Backends
from desktop_app.errors import AppError
from desktop_app.gui.owned_tasks import OwnedTasks
from desktop_app.gui.session import WindowSession
from desktop_app.gui.settings_dialog import SettingsDialog

Rebind = Callable[[Backends], Awaitable[None]]


def _why(exc: Exception) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}"


class SettingsControl(QObject):
    status = Signal(str)  # a line for the status bar that stays
    message = Signal(str)  # a line for the status bar that fades
    applied = Signal()  # an attempt to apply settings is over (applied or not)

    def __init__(
        self,
        session: WindowSession,
        paths: AppPaths,
        window: QWidget,
        apply_to_window: Callable[[Settings], None],  # the window's own parts take new settings
        rebind: Callable[[], Rebind | None],  # what moves to new backends before the old ones close
    ) -> None:
        super().__init__(window)
        self._session = session
        self._paths = paths
        self._window = window
        self._apply_to_window = apply_to_window
        self._rebind = rebind
        settings = session.settings
        self.key_location = "keyring" if settings.llm_api_key_in_keyring else ("file" if settings.llm_api_key else "")
        self.dialog: SettingsDialog | None = None
        self.tasks = OwnedTasks()

    def open_dialog(self) -> SettingsDialog:
        """Show the settings dialog (not modal); saving applies without a restart."""
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        dialog = SettingsDialog(self._session.settings, self.key_location, self._window)
        dialog.saveRequested.connect(lambda settings: self.tasks.start(self.apply(settings), "applying the settings"))
        dialog.finished.connect(dialog.deleteLater)
        self.dialog = dialog
        dialog.open()
        return dialog

    async def _save(self, settings: Settings) -> None:
        from desktop_app.key_store import save_settings_with_key

        _path, self.key_location = await asyncio.to_thread(save_settings_with_key, settings, self._paths)

    async def apply(self, settings: Settings) -> bool:
        """Write the settings file (the key to the keyring when one works) and apply them."""
        try:
            await self._save(settings)
        except (OSError, AppError) as exc:
            self.status.emit(f"\u26a0 Settings not saved: {_why(exc)}")
            return False
        self._apply_to_window(settings)
        try:
            ok = await self._session.apply_settings(settings, self._rebind())
        finally:
            self.applied.emit()
        return ok

    def keep(self, settings: Settings) -> None:
        """Keep a window-only choice (the hands-free switch) in the settings file."""
        self.tasks.start(self._keep(settings), "keeping a setting")

    async def _keep(self, settings: Settings) -> None:
        self._session.settings = settings
        try:
            await self._save(settings)
        except (OSError, AppError) as exc:
            self.message.emit(f"\u26a0 Not remembered: {_why(exc)}")

    async def aclose(self) -> None:
        await self.tasks.aclose()
