"""The window's Host switch: start/stop the browser server and show connected browsers.

Owns the server controller (created on first use: the server's imports are heavy and
the window must open fast), the Host panel in a dock, one transcript per browser, and
which source the window shows: "" for this computer, else a browser's session id.
While a browser is shown, the video view polls its frames and the transcript and reply
panes follow its conversation; talking is for this computer only, so the talk bar
waits until "This computer" is selected again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget

from desktop_app.core.events import Event, ReplyDelta, TurnStarted
from desktop_app.core.turn import Backends
from desktop_app.gui.entry_events import apply_event
from desktop_app.gui.host_panel import LOCAL, HostPanel
from desktop_app.gui.transcript_view import TranscriptEntry

if TYPE_CHECKING:
    from desktop_app.gui.host_controller import HostController
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.remote_source import RemoteFrameSource
    from desktop_app.server import ServerConfig
    from desktop_app.server import Session as BrowserSession


def browser_label(session: BrowserSession, state: str = "") -> str:
    agent = session.user_agent
    kind = next((name for name in ("iPhone", "Android", "Firefox", "Edg", "Chrome", "Safari") if name in agent), "Browser")
    kind = {"Edg": "Edge"}.get(kind, kind)
    state = state or session.peer_state
    return f"{kind} \u00b7 {session.remote or '?'} \u00b7 {state}"


class HostView(QObject):
    hostingChanged = Signal(bool)
    viewChanged = Signal(str)

    def __init__(self, window: MainWindow, config: ServerConfig | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.config = config
        self.controller: HostController | None = None
        self.view_id = LOCAL
        self.entries: dict[str, list[TranscriptEntry]] = {}
        self.remote_source: RemoteFrameSource | None = None
        self.panel = HostPanel()
        self.panel.viewRequested.connect(self.show_view)
        self.dock = QDockWidget("Hosting", window)
        self.dock.setObjectName("hostDock")
        self.dock.setWidget(self.panel)
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.dock)
        self.dock.hide()

    @property
    def running(self) -> bool:
        return self.controller is not None and self.controller.running

    @property
    def join_url(self) -> str:
        return self.controller.join_url if self.controller is not None else ""

    # ---- the switch -----------------------------------------------------------------

    def _controller(self) -> HostController:
        if self.controller is None:
            from desktop_app.gui.host_controller import HostController

            c = HostController(self.window.paths, self.config, self)
            c.failed.connect(self.window.show_status)
            c.sessionAdded.connect(self._on_added)
            c.sessionRemoved.connect(self._on_removed)
            c.sessionState.connect(lambda s, state: self.panel.set_label(s.id, browser_label(s, state)))
            c.sessionEvent.connect(self._on_event)
            self.controller = c
        return self.controller

    async def start(self) -> str | None:
        session = self.window.session
        if session.engine is None or not session.is_ready:
            self.window.show_message("Models are still loading: host once they are ready")
            self.hostingChanged.emit(False)
            return None
        url = await self._controller().start(session.engine.backends, session.settings)
        if url is None:
            self.hostingChanged.emit(False)
            return None
        self.panel.set_url(url)
        self.dock.show()
        self.window.show_message(f"Hosting: browsers join at {url}")
        self.hostingChanged.emit(True)
        return url

    async def stop(self) -> None:
        if self.controller is not None:
            await self.controller.stop()
        self.show_view(LOCAL)
        self.entries.clear()
        self.panel.clear_browsers()
        self.panel.set_url("")
        self.dock.hide()
        self.hostingChanged.emit(False)

    def set_hosting(self, on: bool) -> asyncio.Future:
        if self.controller is not None and self.controller.busy:
            self.window.show_message("The server is still starting or stopping")
            future = asyncio.get_event_loop().create_future()
            future.set_result(None)
            return future
        if on == self.running:
            future = asyncio.get_event_loop().create_future()
            future.set_result(self.join_url or None)
            return future
        return asyncio.ensure_future(self.start() if on else self.stop())

    async def rebind(self, backends: Backends) -> None:
        """New settings: the server moves to the new backends (pages reconnect)."""
        if self.running and self.controller is not None:
            await self.controller.rebind(backends, self.window.session.settings)
            self.panel.set_url(self.controller.join_url)

    # ---- browsers -------------------------------------------------------------------

    def _on_added(self, session: BrowserSession) -> None:
        self.entries[session.id] = []
        self.panel.add_browser(session.id, browser_label(session))

    def _on_removed(self, session: BrowserSession) -> None:
        if self.view_id == session.id:
            self.show_view(LOCAL)
        self.entries.pop(session.id, None)
        self.panel.remove_browser(session.id)

    def _on_event(self, session: BrowserSession, event: Event) -> None:
        entries = self.entries.get(session.id)
        if entries is None:
            return
        image = None
        if isinstance(event, TurnStarted):
            from desktop_app.gui.remote_source import rgb_to_qimage

            rgb = session.latest_frame_rgb()
            image = rgb_to_qimage(rgb) if rgb is not None else None
        entry = apply_event(entries, event, image)
        if entry is None or self.view_id != session.id:
            return
        transcript = self.window.transcript
        if isinstance(event, TurnStarted):
            transcript.selected_index = len(entries) - 1
            self.window.reply.set_markdown("")
        elif isinstance(event, ReplyDelta) and entries[-1] is entry:
            self.window.reply.set_markdown(entry.reply_text)
        transcript.refresh()

    # ---- what the window shows ------------------------------------------------------

    def show_view(self, view_id: str) -> None:
        if view_id == self.view_id:
            return
        session = None
        if view_id != LOCAL:
            server = self.controller.server if self.controller is not None else None
            session = server.session(view_id) if server is not None else None
            if session is None:
                return
        if self.remote_source is not None:
            self.remote_source.stop()
            self.remote_source.deleteLater()
            self.remote_source = None
        self.view_id = view_id
        if session is None:
            self.window.show_local_view()
        else:
            from desktop_app.gui.remote_source import RemoteFrameSource

            self.remote_source = RemoteFrameSource(session, parent=self)
            self.remote_source.start()
            self.window.show_remote_view(self.remote_source, self.entries.setdefault(view_id, []))
        self.panel.select(view_id)
        self.viewChanged.emit(view_id)
