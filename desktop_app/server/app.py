"""The browser server: aiohttp (page + WebSocket signaling) in front of per-browser sessions.

Secure by default:

- HTTPS with a self-signed certificate made on first use (or the user's own); plain HTTP
  only when asked (``tls=False``).
- A token guards everything: without it no page, no script, no WebSocket (401 when
  missing, 403 when wrong). The page URL carries it (``/?token=...``); the server also
  sets it as an HttpOnly, SameSite=Strict cookie so a refresh works. The random token is
  kept in the data dir (a restarted server accepts the pages still open) until rotated.
- The WebSocket must come from the server's own origin; every message has a size limit;
  a malformed message or SDP gets an error message, and only that client sees it.
- At most ``max_sessions`` browsers at once.

:class:`WebcamServer` is what the CLI and the desktop app use: ``start()``, ``stop()``,
``sessions``, ``subscribe()`` (SessionAdded/Removed/StateChanged/Event), ``join_url``,
``rotate_token()``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from aiohttp import WSMsgType, web

from desktop_app.config import AppPaths, Settings
from desktop_app.core.turn import Backends
from desktop_app.errors import ConfigError
from desktop_app.server.events import ServerEvent, SessionAdded, SessionEvent, SessionRemoved, SessionStateChanged
from desktop_app.server.session import BrowserSession
from desktop_app.server.signaling import MAX_MESSAGE_BYTES, dumps, error_message

log = logging.getLogger(__name__)

TOKEN_COOKIE = "aiwebcam_token"
WEB_FILES = {  # the page's files, flat in web/ (ES modules: app.js imports the others)
    "index.html": "text/html",
    "app.js": "text/javascript",
    "state.js": "text/javascript",
    "status.js": "text/javascript",
    "signalling.js": "text/javascript",
    "media.js": "text/javascript",
    "talk.js": "text/javascript",
    "transcript.js": "text/javascript",
    "markdown.js": "text/javascript",
    "style.css": "text/css",
    "icon.svg": "image/svg+xml",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob:; manifest-src 'self'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
}
WS_CLOSE_FULL = 4008  # the page shows "server full" and retries later
WS_CLOSE_SHUTDOWN = 1001


@dataclass
class ServerConfig:
    host: str = "0.0.0.0"
    port: int = 8443
    token: str = ""  # "" = the stored random token (made on first use)
    tls: bool = True
    cert: Path | None = None  # both or neither: else a self-signed one in the data dir
    key: Path | None = None
    ice_hosts: list[str] = field(default_factory=list)  # restrict ICE host candidates
    max_sessions: int = 4
    max_message_bytes: int = MAX_MESSAGE_BYTES
    extra_origins: list[str] = field(default_factory=list)  # e.g. behind a reverse proxy


def _token_file(paths: AppPaths) -> Path:
    return paths.data_dir / "server" / "token"


def stored_token(paths: AppPaths, rotate: bool = False) -> str:
    """The server's random token, kept (readable only by the user) across restarts."""
    from desktop_app.storage import atomic_write_text

    path = _token_file(paths)
    if not rotate and path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if len(token) >= 16:
            return token
    token = secrets.token_urlsafe(18)
    atomic_write_text(path, token + "\n", private=True)
    return token


def lan_address() -> str:
    """The first non-loopback IPv4 address of this machine (no packet is sent)."""
    try:
        import ifaddr

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                    return ip.ip
    except Exception:  # ifaddr missing or an odd interface: fall back
        pass
    return "127.0.0.1"


class WebcamServer:
    def __init__(self, backends: Backends, settings: Settings, paths: AppPaths, config: ServerConfig | None = None) -> None:
        self.backends = backends
        self.settings = settings
        self.paths = paths
        self.config = config or ServerConfig()
        if bool(self.config.cert) != bool(self.config.key):
            raise ConfigError("give both --cert and --key, or neither")
        self._token = self.config.token or stored_token(paths)
        self._sessions: dict[str, BrowserSession] = {}
        self._reserved = 0  # sessions being set up (counted against max_sessions)
        self._listeners: list[Callable[[ServerEvent], None]] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self.port = self.config.port
        self.app = self.make_app()

    # ---- public API -----------------------------------------------------------------

    @property
    def token(self) -> str:
        return self._token

    @property
    def sessions(self) -> list[BrowserSession]:
        return list(self._sessions.values())

    def session(self, session_id: str) -> BrowserSession | None:
        return self._sessions.get(session_id)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @property
    def scheme(self) -> str:
        return "https" if self.config.tls else "http"

    @property
    def join_url(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", "", "::"):
            host = lan_address()
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}/?token={self._token}"

    async def rotate_token(self, new_token: str = "", close_sessions: bool = True) -> str:
        """A new token; the old one stops working (and, by default, its sessions end)."""
        self._token = new_token or stored_token(self.paths, rotate=True)
        if close_sessions:
            for ws in list(self._sockets):
                await ws.close(code=4003, message=b"token rotated")
        return self._token

    async def start(self) -> str:
        """Listen; returns the join URL."""
        from desktop_app.server.peer import restrict_ice_host_addresses

        restrict_ice_host_addresses(self.config.ice_hosts or None)
        ssl_context = None
        if self.config.tls:
            from desktop_app.server import tls

            if self.config.cert and self.config.key:
                cert, key = Path(self.config.cert), Path(self.config.key)
            else:
                cert, key = tls.ensure_self_signed_cert(self.paths.data_dir, [self.config.host, lan_address()])
            ssl_context = tls.ssl_context(cert, key)
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(f"cannot listen on {self.config.host}:{self.config.port}: {exc.strerror or exc}") from None
        server = getattr(site, "_server", None)
        if server is not None and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        return self.join_url

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=WS_CLOSE_SHUTDOWN, message=b"server stopping")
        for session in list(self._sessions.values()):
            await self._end_session(session)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- the aiohttp application ----------------------------------------------------

    def make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=16 * 1024)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/{name}", self._static)
        return app

    def _presented_token(self, request: web.Request) -> str | None:
        return request.query.get("token") or request.cookies.get(TOKEN_COOKIE)

    def _token_ok(self, token: str) -> bool:
        return hmac.compare_digest(token.encode("utf-8", "replace"), self._token.encode("utf-8"))

    @web.middleware
    async def _guard(self, request: web.Request, handler) -> web.StreamResponse:
        token = self._presented_token(request)
        if not token:
            return _denied(401, "a token is required: open the URL the server printed")
        if not self._token_ok(token):
            return _denied(403, "wrong token")
        response = await handler(request)
        if not isinstance(response, web.WebSocketResponse):
            response.headers.update(SECURITY_HEADERS)
        return response

    async def _index(self, request: web.Request) -> web.Response:
        response = _web_file("index.html")
        response.set_cookie(
            TOKEN_COOKIE, self._token, httponly=True, samesite="Strict", secure=self.config.tls, path="/", max_age=30 * 86400
        )
        return response

    async def _static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in WEB_FILES:
            raise web.HTTPNotFound()
        return _web_file(name)

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin", "")
        allowed = {f"{self.scheme}://{request.host}", *self.config.extra_origins}
        return origin in allowed

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            return _denied(403, "this WebSocket must come from the server's own page")
        hard_limit = self.config.max_message_bytes * 4  # beyond: aiohttp closes (1009)
        ws = web.WebSocketResponse(max_msg_size=hard_limit, heartbeat=30, compress=False)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            if len(self._sessions) + self._reserved >= self.config.max_sessions:
                await ws.send_str(dumps(error_message(f"the server is full ({self.config.max_sessions} sessions)", "full")))
                await ws.close(code=WS_CLOSE_FULL, message=b"server full")
                return ws
            self._reserved += 1
            try:
                outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
                session = BrowserSession(
                    self.backends,
                    self.settings,
                    self.paths,
                    send=outbox.put_nowait,
                    on_engine_event=lambda session, event: self._emit(SessionEvent(session, event)),
                    on_peer_state=lambda session, state: self._emit(SessionStateChanged(session, state)),
                    remote=request.remote or "",
                    user_agent=request.headers.get("User-Agent", ""),
                    max_message_bytes=self.config.max_message_bytes,
                )
                self._sessions[session.id] = session
            finally:
                self._reserved -= 1
            self._emit(SessionAdded(session))
            writer = asyncio.ensure_future(_write_loop(ws, outbox))
            outbox.put_nowait({"type": "hello", "session_id": session.id})
            try:
                await self._read_loop(ws, session)
            finally:
                outbox.put_nowait(None)
                await self._end_session(session)
                try:
                    await asyncio.wait_for(writer, timeout=2)
                except (asyncio.TimeoutError, asyncio.CancelledError, ConnectionError):
                    writer.cancel()
        finally:
            self._sockets.discard(ws)
        return ws

    async def _read_loop(self, ws: web.WebSocketResponse, session: BrowserSession) -> None:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                try:
                    await session.handle_text(msg.data)
                except Exception as exc:  # a bug in one session must not end the server
                    log.exception("session %s: message failed", session.id)
                    session.send(error_message(f"internal error: {type(exc).__name__}", "internal"))
            elif msg.type == WSMsgType.BINARY:
                session.send(error_message("binary messages are not accepted"))
            elif msg.type == WSMsgType.ERROR:
                log.info("session %s: websocket error: %s", session.id, ws.exception())
                break

    async def _end_session(self, session: BrowserSession) -> None:
        if self._sessions.pop(session.id, None) is None:
            return
        try:
            await session.close()
        finally:
            self._emit(SessionRemoved(session))

    def _emit(self, event: ServerEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a view's bug must not break a session
                log.exception("server listener failed")


async def _write_loop(ws: web.WebSocketResponse, outbox: asyncio.Queue) -> None:
    while (message := await outbox.get()) is not None:
        if ws.closed:
            return
        try:
            await ws.send_str(dumps(message))
        except (ConnectionError, RuntimeError):
            return


def _denied(status: int, reason: str) -> web.Response:
    response = web.Response(status=status, text=reason + "\n", content_type="text/plain")
    response.headers.update(SECURITY_HEADERS)
    return response


def _web_file(name: str) -> web.Response:
    data = resources.files("desktop_app.server").joinpath("web", name).read_bytes()
    return web.Response(body=data, content_type=WEB_FILES[name], charset="utf-8" if WEB_FILES[name].startswith("text") else None)
