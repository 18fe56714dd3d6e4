"""The Host switch: the browser server on the window's loop, sharing its models.

A browser is stood in for by a WebSocket client (the page's signaling channel) plus
one video frame put on its session, enough for the list, the video view and the panes;
the full browser path is covered by tests/server/test_e2e_browser.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl

import aiohttp
import av
import numpy as np
import pytest

from desktop_app.server import ServerConfig
from tests.gui.helpers import close_window, open_window, run, wait_ready

TURN_MS = 180_000


def _no_verify() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the server's certificate is self-signed
    return context


async def _status(url: str) -> int:
    async with aiohttp.ClientSession() as http, http.get(url, ssl=_no_verify()) as response:
        return response.status


class FakePeer:
    """Where a session reads its browser's latest video frame from."""

    def __init__(self, frame: av.VideoFrame) -> None:
        self.latest_frame = frame

    async def close(self) -> None:
        return None


async def _until(condition, timeout_s: float) -> None:
    """Poll from inside a coroutine (qtbot.waitUntil would re-enter the running task)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_host_switch_serves_shows_qr_lists_browsers_and_frees_the_port(qtbot, qloop, tls):
    config = ServerConfig(host="127.0.0.1", port=0, tls=tls, ice_hosts=["127.0.0.1"], token="gui-test-token-0123456789")
    window = open_window(qtbot, qloop, host_config=config)
    try:
        wait_ready(qtbot, window)
        window.host_action.trigger()
        qtbot.waitUntil(lambda: window.host.running, timeout=60_000)
        assert window.host_action.isChecked() and window.host.dock.isVisible()
        url = window.host.join_url
        scheme = "https" if tls else "http"
        assert url.startswith(f"{scheme}://127.0.0.1:") and url.endswith("?token=gui-test-token-0123456789")
        assert window.host.panel.url.text() == url
        qr = window.host.panel.qr_pixmap()
        assert not qr.isNull() and qr.width() >= 100
        window.host.panel.copy_url()
        from PySide6.QtGui import QGuiApplication

        assert QGuiApplication.clipboard().text() == url
        # the server shares this window's models
        server = window.host.server.webcam_server
        assert server.backends is window.session.engine.backends

        base = url.split("?")[0]
        assert run(qtbot, _status(url)) == 200
        assert run(qtbot, _status(base)) == 401
        assert run(qtbot, _status(base + "?token=wrong")) == 403

        _a_browser_joins_and_is_shown(qtbot, window, url, tls)

        port = server.port
        window.host_action.trigger()
        qtbot.waitUntil(lambda: not window.host.running and not window.host.dock.isVisible(), timeout=60_000)
        assert not window.host_action.isChecked()
        assert _port_free(port)
    finally:
        close_window(qtbot, window)


def _a_browser_joins_and_is_shown(qtbot, window, url: str, tls: bool) -> None:
    host = window.host
    scheme = "https" if tls else "http"
    origin = f"{scheme}://" + url.split("/")[2]
    ws_url = url.replace(f"{scheme}://", "wss://" if tls else "ws://").replace("/?", "/ws?")

    async def join_and_ask() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(ws_url, headers={"Origin": origin}, ssl=_no_verify()) as ws:
                hello = json.loads((await ws.receive(timeout=30)).data)
                assert hello["type"] == "hello"
                await _until(lambda: len(host.panel.ids()) == 2, 10)
                session = host.server.webcam_server.session(hello["session_id"])
                rgb = np.zeros((120, 160, 3), dtype=np.uint8)
                rgb[:, :80] = (255, 40, 40)
                session.peer = FakePeer(av.VideoFrame.from_ndarray(rgb, format="rgb24"))
                host.panel.select(session.id)
                assert host.view_id == session.id and host.remote_source.running
                await _until(lambda: window.video.source is host.remote_source and host.remote_source.frames > 0, 10)
                image = window.video.source.current_image()
                assert (image.width(), image.height()) == (160, 120) and image.pixelColor(10, 10).red() == 255
                assert not window.talk_bar.send_button.isEnabled()  # talking is for this computer

                await ws.send_str(json.dumps({"type": "text", "text": "Say hello to the browser."}))
                while True:
                    message = json.loads((await ws.receive(timeout=TURN_MS / 1000)).data)
                    if message["type"] == "finished":
                        break
                await asyncio.sleep(0.2)
                entries = window.transcript.entries
                assert entries is host.entries[session.id] and len(entries) == 1
                assert entries[0].user_text == "Say hello to the browser." and entries[0].reply_text.strip()
                assert entries[0].image is not None  # the browser's frame with the turn
                assert "Say hello to the browser." in window.transcript.plain_text()
                window.reply.render_now()
                assert window.reply.markdown == entries[0].reply_text

                host.panel.select("")  # back to this computer
                assert host.view_id == "" and host.remote_source is None
                assert window.video.source is window.video_source
                assert window.transcript.entries == [] and window.talk_bar.send_button.isEnabled()
                host.panel.select(session.id)
        # the browser left: its row goes, the view returns to this computer
        await _until(lambda: host.panel.ids() == [""], 30)
        assert host.view_id == "" and window.video.source is window.video_source

    run(qtbot, join_and_ask(), timeout=TURN_MS)
