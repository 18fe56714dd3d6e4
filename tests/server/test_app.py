"""The server's HTTP and WebSocket edges on a real socket: tokens, origin, limits,
malformed input, sessions and their isolation, TLS. Models are stubs (instant)."""

from __future__ import annotations

import asyncio
import json
import ssl
import stat

import aiohttp
import pytest

from desktop_app.errors import ConfigError
from desktop_app.server.app import WEB_FILES, WS_CLOSE_FULL, ServerConfig, WebcamServer, stored_token
from desktop_app.server.events import SessionAdded, SessionEvent, SessionRemoved
from desktop_app.server.tls import self_signed_paths
from tests.server.conftest import base_url, receive_json, receive_until, running_server, ws_url


async def test_nothing_is_served_without_the_token(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        base = base_url(server)
        for path in ("/", "/app.js", "/style.css", "/markdown.js", "/ws", "/nonexistent"):
            async with http.get(base + path) as r:
                assert r.status == 401, path
                assert "<html" not in await r.text()
            async with http.get(base + path + "?token=wrong-token-value") as r:
                assert r.status == 403, path
        async with http.head(base + "/?token=wrong") as r:
            assert r.status == 403


async def test_the_token_serves_the_page_and_sets_a_cookie_for_its_files(stub_backends, paths):
    async with running_server(stub_backends, paths) as server:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # unsafe: an IP host
            async with http.get(server.join_url) as r:
                assert r.status == 200
                page = await r.text()
                assert 'id="talk"' in page and "<script" in page
                assert "script-src 'self'" in r.headers["Content-Security-Policy"]
                assert r.headers["Referrer-Policy"] == "no-referrer"
                cookie = r.cookies["aiwebcam_token"]
                assert cookie["httponly"] and cookie["samesite"] == "Strict"
            # The page's own files load with the cookie alone (relative URLs, no token).
            for name in ("app.js", "markdown.js", "style.css", "icon.svg"):
                async with http.get(base_url(server) + "/" + name) as r:
                    assert r.status == 200, name
            for name, content_type in WEB_FILES.items():  # modules need a JavaScript type
                async with http.get(base_url(server) + "/" + name) as r:
                    assert r.status == 200 and r.content_type == content_type, name
            async with http.get(base_url(server) + "/secret.txt") as r:
                assert r.status == 404
        assert server.join_url.startswith(f"http://127.0.0.1:{server.port}/?token=")


def test_the_page_never_parses_html_from_strings():
    import re
    from importlib import resources

    web = resources.files("desktop_app.server").joinpath("web")
    scripts = [name for name in WEB_FILES if name.endswith(".js")]
    assert {"app.js", "markdown.js"} <= set(scripts)
    for name in scripts:
        source = web.joinpath(name).read_text()
        code = "\n".join(line for line in source.splitlines() if not line.strip().startswith("//"))
        assert not re.search(r"\.(innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function|DOMParser", code), name


def test_the_page_loads_its_scripts_as_modules_the_server_serves():
    import re
    from importlib import resources

    web = resources.files("desktop_app.server").joinpath("web")
    assert '<script type="module" src="app.js">' in web.joinpath("index.html").read_text()
    on_disk = {entry.name for entry in web.iterdir() if entry.is_file()}
    assert on_disk == set(WEB_FILES)  # every file served, none forgotten (the bundle takes the folder)
    imported = {name: re.findall(r'\bfrom "\./([\w.-]+)";', web.joinpath(name).read_text()) for name in WEB_FILES if name.endswith(".js")}
    assert "talk.js" in imported["app.js"]
    for name, modules in imported.items():
        assert set(modules) <= set(WEB_FILES), (name, modules)


async def test_websocket_needs_token_and_same_origin(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        origin = base_url(server)
        cases = [
            (ws_url(server, ""), {"Origin": origin}, 401),
            (ws_url(server, "wrong-token"), {"Origin": origin}, 403),
            (ws_url(server), {"Origin": "https://evil.example"}, 403),
            (ws_url(server), {}, 403),
        ]
        for url, headers, status in cases:
            with pytest.raises(aiohttp.WSServerHandshakeError) as info:
                await http.ws_connect(url, headers=headers)
            assert info.value.status == status, (url, headers)
        assert server.sessions == []
        async with http.ws_connect(ws_url(server), headers={"Origin": origin}) as ws:
            hello = await receive_json(ws)
            assert hello["type"] == "hello" and hello["session_id"] == server.sessions[0].id


async def test_malformed_messages_get_one_line_errors_and_nothing_else_breaks(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        origin = {"Origin": base_url(server)}
        async with http.ws_connect(ws_url(server), headers=origin) as bad, http.ws_connect(ws_url(server), headers=origin) as good:
            await receive_json(bad)
            await receive_json(good)
            junk = [
                "{not json",
                "null",
                '"a string"',
                '{"no": "type"}',
                '{"type": "unknown-thing"}',
                '{"type": "offer"}',
                '{"type": "offer", "sdp": "v=0\\r\\nthis is not sdp\\r\\nm=audio x"}',
                '{"type": "ptt", "action": 1}',
                '{"type": "text", "text": ""}',
                '{"type": "text", "text": ' + json.dumps("x" * 5000) + "}",
            ]
            for item in junk:
                await bad.send_str(item)
            await bad.send_bytes(b"\xff\x00binary")
            await bad.send_str('{"type": "ping"}')
            got = await receive_until(bad, "pong")
            errors = [m for m in got if m["type"] == "error"]
            assert len(errors) == len(junk) + 1  # every junk message and the binary one
            for error in errors:
                assert error["message"] and "\n" not in error["message"] and "Traceback" not in error["message"]
            assert any("malformed offer" in e["message"] for e in errors)
            # The same socket and the other session carry on.
            await bad.send_str('{"type": "ping"}')
            assert (await receive_json(bad))["type"] == "pong"
            await good.send_str('{"type": "ping"}')
            assert (await receive_json(good))["type"] == "pong"
            assert len(server.sessions) == 2


async def test_message_size_limits(stub_backends, paths):
    async with running_server(stub_backends, paths, max_message_bytes=2048) as server, aiohttp.ClientSession() as http:
        origin = {"Origin": base_url(server)}
        async with http.ws_connect(ws_url(server), headers=origin) as ws:
            await receive_json(ws)
            await ws.send_str(json.dumps({"type": "text", "text": "y" * 3000}))
            error = await receive_json(ws)
            assert error["type"] == "error" and "too large" in error["message"]
            await ws.send_str('{"type": "ping"}')
            assert (await receive_json(ws))["type"] == "pong"
            # Far beyond the limit the socket is closed (the frame is never buffered whole).
            await ws.send_str("z" * 20000)
            msg = await ws.receive(timeout=30)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        async with http.ws_connect(ws_url(server), headers=origin) as ws:
            assert (await receive_json(ws))["type"] == "hello"
        async with http.get(server.join_url) as r:
            assert r.status == 200


async def test_at_most_max_sessions(stub_backends, paths):
    async with running_server(stub_backends, paths, max_sessions=1) as server, aiohttp.ClientSession() as http:
        origin = {"Origin": base_url(server)}
        first = await http.ws_connect(ws_url(server), headers=origin)
        await receive_json(first)
        async with http.ws_connect(ws_url(server), headers=origin) as second:
            error = await receive_json(second)
            assert error["type"] == "error" and error["code"] == "full"
            closing = await second.receive(timeout=10)
            assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == WS_CLOSE_FULL
        await first.close()
        for _ in range(100):
            if not server.sessions:
                break
            await asyncio.sleep(0.05)
        async with http.ws_connect(ws_url(server), headers=origin) as third:
            assert (await receive_json(third))["type"] == "hello"


async def test_rotating_the_token_locks_out_old_links(stub_backends, paths):
    async with running_server(stub_backends, paths, token="") as server, aiohttp.ClientSession() as http:
        old = server.token
        assert old == stored_token(paths)  # random, kept in the data dir
        ws = await http.ws_connect(ws_url(server), headers={"Origin": base_url(server)})
        await receive_json(ws)
        new = await server.rotate_token()
        assert new != old and stored_token(paths) == new
        closing = await ws.receive(timeout=10)
        assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4003
        async with http.get(base_url(server) + f"/?token={old}") as r:
            assert r.status == 403
        async with http.get(base_url(server) + f"/?token={new}") as r:
            assert r.status == 200


async def test_each_browser_has_its_own_conversation(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        seen = []
        server.subscribe(seen.append)
        origin = {"Origin": base_url(server)}
        a = await http.ws_connect(ws_url(server), headers=origin)
        b = await http.ws_connect(ws_url(server), headers=origin)
        id_a = (await receive_json(a))["session_id"]
        id_b = (await receive_json(b))["session_id"]
        await a.send_str(json.dumps({"type": "text", "text": "my secret is pineapple"}))
        got_a = await receive_until(a, "finished")
        kinds = [m["type"] for m in got_a]
        assert kinds[0] == "turn_started" and "transcript" in kinds and "delta" in kinds and "metrics" in kinds
        reply = "".join(m["text"] for m in got_a if m["type"] == "delta")
        assert "pineapple" in reply
        # A's reply audio is queued in A's track only (no peer consumes it here).
        assert server.session(id_a).audio_track.queued_ms > 0
        assert server.session(id_b).audio_track.queued_ms == 0
        await b.send_str(json.dumps({"type": "text", "text": "what is my secret?"}))
        got_b = await receive_until(b, "finished")
        assert all("pineapple" not in json.dumps(m) for m in got_b)
        session_a, session_b = server.session(id_a), server.session(id_b)
        assert session_a.engine.conversation.id != session_b.engine.conversation.id
        assert session_a.engine.backends is session_b.engine.backends  # models load once
        assert [t.user_text for t in session_b.engine.conversation.turns] == ["what is my secret?"]
        for_a = [e for e in seen if isinstance(e, SessionEvent) and e.session is session_a]
        for_b = [e for e in seen if isinstance(e, SessionEvent) and e.session is session_b]
        assert {e.event.turn_id for e in for_a}.isdisjoint({e.event.turn_id for e in for_b})
        await a.close()
        await b.close()
        for _ in range(100):
            if sum(isinstance(e, SessionRemoved) for e in seen) == 2:
                break
            await asyncio.sleep(0.05)
        assert sum(isinstance(e, SessionAdded) for e in seen) == 2
        assert sum(isinstance(e, SessionRemoved) for e in seen) == 2
        assert server.sessions == []


async def test_cancel_interrupts_and_is_reported_to_that_page(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url(server), headers={"Origin": base_url(server)})
        await receive_json(ws)
        await ws.send_str(json.dumps({"type": "text", "text": " ".join(["word"] * 200)}))
        await receive_until(ws, "delta")
        await ws.send_str('{"type": "cancel"}')
        got = await receive_until(ws, "finished")
        assert "cancelled" in [m["type"] for m in got]
        assert got[-1]["interrupted"] is True
        session = server.sessions[0]
        assert session.engine.conversation.turns[-1].interrupted


async def test_push_to_talk_without_media_says_so(stub_backends, paths):
    async with running_server(stub_backends, paths) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(ws_url(server), headers={"Origin": base_url(server)})
        await receive_json(ws)
        await ws.send_str('{"type": "ptt", "action": "start"}')
        assert await receive_json(ws) == {"type": "recording", "on": True}
        await ws.send_str('{"type": "ptt", "action": "stop"}')
        assert await receive_json(ws) == {"type": "recording", "on": False}
        error = await receive_json(ws)
        assert error["type"] == "error" and error["code"] == "no_audio"


async def test_https_with_a_self_signed_certificate_kept_in_the_data_dir(stub_backends, paths):
    async with running_server(stub_backends, paths, tls=True) as server, aiohttp.ClientSession() as http:
        assert server.join_url.startswith("https://")
        async with http.get(server.join_url, ssl=False) as r:
            assert r.status == 200
        # Plain HTTP to the TLS port gets nothing.
        with pytest.raises(aiohttp.ClientError):
            async with http.get(server.join_url.replace("https://", "http://")) as r:
                await r.read()
    cert, key = self_signed_paths(paths.data_dir)
    first = cert.read_bytes()
    assert b"BEGIN CERTIFICATE" in first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    # The next start reuses it (a browser's exception for it stays valid).
    async with running_server(stub_backends, paths, tls=True):
        pass
    assert cert.read_bytes() == first
    # A user-given certificate and key.
    async with running_server(stub_backends, paths, tls=True, cert=cert, key=key) as server, aiohttp.ClientSession() as http:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False  # the SAN names the host, the test dials 127.0.0.1 (also listed)
        async with http.get(server.join_url, ssl=context) as r:
            assert r.status == 200


async def test_bad_tls_options_are_one_clear_error(stub_backends, paths, tmp_path):
    from desktop_app.config import Settings

    with pytest.raises(ConfigError, match="both --cert and --key"):
        WebcamServer(stub_backends, Settings(), paths, ServerConfig(cert=tmp_path / "c.pem"))
    missing = ServerConfig(host="127.0.0.1", port=0, cert=tmp_path / "c.pem", key=tmp_path / "k.pem")
    with pytest.raises(ConfigError, match="not found"):
        await WebcamServer(stub_backends, Settings(), paths, missing).start()


async def test_port_in_use_is_one_clear_error(stub_backends, paths):
    async with running_server(stub_backends, paths) as first:
        with pytest.raises(ConfigError, match="cannot listen"):
            async with running_server(stub_backends, paths, port=first.port):
                pass
