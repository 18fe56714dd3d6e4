"""The browser server behind the Host switch, on the window's qasync loop, as Qt signals.

The server shares the window engine's backends, so the models load once. Its
listener is called on the loop thread (the GUI thread), so signals reach widgets
directly.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QObject, Signal

from desktop_app.config import AppPaths, Settings
from desktop_app.core.events import AudioPacket
from desktop_app.core.turn import Backends
from desktop_app.errors import AppError
from desktop_app.server import (
    ServerConfig,
    ServerEvent,
    SessionAdded,
    SessionEvent,
    SessionRemoved,
    SessionStateChanged,
    WebcamServer,
)

log = logging.getLogger(__name__)


class HostServer(QObject):
    failed = Signal(str)  # one line
    sessionAdded = Signal(object)  # desktop_app.server.BrowserSession
    sessionRemoved = Signal(object)
    sessionState = Signal(object, str)
    sessionEvent = Signal(object, object)  # session, engine event

    def __init__(self, paths: AppPaths, config: ServerConfig | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.config = config or ServerConfig()
        self.webcam_server: WebcamServer | None = None
        self._unsubscribe = None
        self.busy = False  # starting or stopping

    @property
    def running(self) -> bool:
        return self.webcam_server is not None

    @property
    def join_url(self) -> str:
        return self.webcam_server.join_url if self.webcam_server is not None else ""

    async def start(self, backends: Backends, settings: Settings) -> str | None:
        """Listen; the join URL, or None (``failed`` said why)."""
        if self.webcam_server is not None:
            return self.webcam_server.join_url
        self.busy = True
        try:
            server = WebcamServer(backends, settings, self.paths, self.config)
            url = await server.start()
        except AppError as exc:
            self.failed.emit(f"Hosting failed: {exc}")
            return None
        except Exception as exc:  # a bug: one line, the window carries on
            log.exception("starting the server failed")
            self.failed.emit(f"Hosting failed: {type(exc).__name__}: {exc}")
            return None
        finally:
            self.busy = False
        self.webcam_server = server
        self._unsubscribe = server.subscribe(self._on_server_event)
        return url

    async def stop(self) -> None:
        server, self.webcam_server = self.webcam_server, None
        if server is None:
            return
        self.busy = True
        try:
            await server.stop()  # emits SessionRemoved for every browser
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()
                self._unsubscribe = None
            self.busy = False

    async def rebind(self, backends: Backends, settings: Settings) -> None:
        """Restart on new backends (new settings), same port and token: pages reconnect."""
        server = self.webcam_server
        if server is None:
            return
        self.config = dataclasses.replace(self.config, port=server.port, token=server.token)
        await self.stop()
        await self.start(backends, settings)

    def _on_server_event(self, event: ServerEvent) -> None:
        if isinstance(event, SessionEvent):
            if isinstance(event.event, AudioPacket):
                return  # the browser plays those; the window shows text
            self.sessionEvent.emit(event.session, event.event)
        elif isinstance(event, SessionStateChanged):
            self.sessionState.emit(event.session, event.state)
        elif isinstance(event, SessionAdded):
            self.sessionAdded.emit(event.session)
        elif isinstance(event, SessionRemoved):
            self.sessionRemoved.emit(event.session)
