"""The window's Host switch: start/stop the browser server and show connected browsers.

Owns the :class:`~desktop_app.gui.host_server.HostServer` (created on first use: the
server's imports are heavy and the window must open fast), the Host panel in a dock, one transcript per browser, and
which source the window shows: "" for this computer, else a browser's session id.
While a browser is shown, the video view polls its frames and the transcript and reply
panes follow its conversation; talking is for this computer only, so the talk bar
waits until "This computer" is selected again.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow

from desktop_app.core.events import Event, TurnStarted
from desktop_app.core.turn import Backends
from desktop_app.gui.host_panel import LOCAL, HostPanel
from desktop_app.gui.owned_tasks import OwnedTasks
from desktop_app.gui.transcript_view import TranscriptEntry

if TYPE_CHECKING:
    from desktop_app.config import AppPaths
    from desktop_app.gui.host_server import HostServer
    from desktop_app.gui.conversation_panes import ConversationPanes
    from desktop_app.gui.remote_source import RemoteFrameSource
    from desktop_app.gui.session import WindowSession
    from desktop_app.media.capture import FrameSource
    from desktop_app.server import BrowserSession, ServerConfig


class HostWindow(Protocol):
    """What the Host switch needs of the window (the main window is one)."""

    paths: AppPaths
    session: WindowSession
    panes: ConversationPanes

    def show_status(self, text: str) -> None: ...

    def show_message(self, text: str) -> None: ...

    def show_local_view(self) -> None: ...

    def show_remote_view(self, source: FrameSource, entries: list[TranscriptEntry]) -> None: ...


def browser_label(session: BrowserSession, state: str = "") -> str:
    agent = session.user_agent
    kind = next((name for name in ("iPhone", "Android", "Firefox", "Edg", "Chrome", "Safari") if name in agent), "Browser")
    kind = {"Edg": "Edge"}.get(kind, kind)
    state = state or session.peer_state
    return f"{kind} \u00b7 {session.remote or '?'} \u00b7 {state}"


class HostSwitch(QObject):
    hostingChanged = Signal(bool)

    def __init__(self, window: HostWindow, config: ServerConfig | None = None) -> None:
        assert isinstance(window, QMainWindow)  # the dock goes into it
        super().__init__(window)
        self.window = window
        self.config = config
        self.server: HostServer | None = None
        self.view_id = LOCAL
        self.entries: dict[str, list[TranscriptEntry]] = {}
        self.remote_source: RemoteFrameSource | None = None
        self._tasks = OwnedTasks()
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
        return self.server is not None and self.server.running

    @property
    def join_url(self) -> str:
        return self.server.join_url if self.server is not None else ""

    # ---- the switch -----------------------------------------------------------------

    def _server(self) -> HostServer:
        if self.server is None:
            from desktop_app.gui.host_server import HostServer

            c = HostServer(self.window.paths, self.config, self)
            c.failed.connect(self.window.show_status)
            c.sessionAdded.connect(self._on_added)
            c.sessionRemoved.connect(self._on_removed)
            c.sessionState.connect(lambda s, state: self.panel.set_label(s.id, browser_label(s, state)))
            c.sessionEvent.connect(self._on_event)
            self.server = c
        return self.server

    async def start(self) -> str | None:
        session = self.window.session
        if session.engine is None or not session.is_ready:
            self.window.show_message("Models are still loading: host once they are ready")
            self.hostingChanged.emit(False)
            return None
        url = await self._server().start(session.engine.backends, session.settings)
        if url is None:
            self.hostingChanged.emit(False)
            return None
        self.panel.set_url(url)
        self.dock.show()
        self.window.show_message(f"Hosting: browsers join at {url}")
        self.hostingChanged.emit(True)
        return url

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        self.show_view(LOCAL)
        self.entries.clear()
        self.panel.clear_browsers()
        self.panel.set_url("")
        self.dock.hide()
        self.hostingChanged.emit(False)

    def set_hosting(self, on: bool) -> asyncio.Task:
        """The switch: a task (owned here) whose result is the join URL, or None."""
        return self._tasks.start(self._switch(on), "switching hosting " + ("on" if on else "off"))

    async def _switch(self, on: bool) -> str | None:
        if self.server is not None and self.server.busy:
            self.window.show_message("The server is still starting or stopping")
            return None
        if on == self.running:
            return self.join_url or None
        if on:
            return await self.start()
        await self.stop()
        return None

    def close(self) -> None:
        """The window closes: the server stops (awaited by :meth:`aclose`)."""
        if self.running:
            self._tasks.start(self.stop(), "stopping the server")

    async def aclose(self) -> None:
        """After close: what the switch started finishes (a server half started is not left
        listening), then the server stops."""
        await self._tasks.aclose(cancel=False)
        if self.running:
            await self.stop()

    async def rebind(self, backends: Backends) -> None:
        """New settings: the server moves to the new backends (pages reconnect)."""
        if self.running and self.server is not None:
            await self.server.rebind(backends, self.window.session.settings)
            self.panel.set_url(self.server.join_url)

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
        self.window.panes.apply(entries, event, image)

    # ---- what the window shows ------------------------------------------------------

    def show_view(self, view_id: str) -> None:
        if view_id == self.view_id:
            return
        session = None
        if view_id != LOCAL:
            server = self.server.webcam_server if self.server is not None else None
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
