"""``aiwebcam serve``: host the browser server headless until Ctrl+C."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the parser is built on every run: keep its imports light
    from desktop_app.config import AppPaths, Settings


def add_serve_parser(sub) -> None:
    serve = sub.add_parser("serve", help="host the browser client: remote browsers talk to the AI (WebRTC)")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: all interfaces)")
    serve.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 picks a free one)")
    serve.add_argument("--token", default="", help="access token (default: a random one, kept in the data dir)")
    serve.add_argument("--rotate-token", action="store_true", help="make a new random token (old links stop working)")
    serve.add_argument("--no-tls", action="store_true", help="plain HTTP (browsers allow the mic only on localhost then)")
    serve.add_argument("--cert", type=Path, help="TLS certificate (PEM); default: a self-signed one made on first use")
    serve.add_argument("--key", type=Path, help="TLS private key (PEM) for --cert")
    serve.add_argument("--ice-host", action="append", default=[], metavar="IP", help="offer only this address for media (repeatable)")
    serve.add_argument("--max-sessions", type=int, default=4, help="most browsers at once (default 4)")


async def run_serve(args: argparse.Namespace, settings: "Settings", paths: "AppPaths") -> int:
    from desktop_app.backends.factory import make_backends
    from desktop_app.core.metrics import now_ms
    from desktop_app.errors import ConfigError
    from desktop_app.progress import StderrProgress
    from desktop_app.server.app import ServerConfig, WebcamServer, stored_token

    if args.no_tls and (args.cert or args.key):
        raise ConfigError("--no-tls cannot be combined with --cert/--key")
    if args.max_sessions < 1:
        raise ConfigError("--max-sessions must be at least 1")
    if args.rotate_token and not args.token:
        stored_token(paths, rotate=True)
    config = ServerConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        tls=not args.no_tls,
        cert=args.cert,
        key=args.key,
        ice_hosts=list(args.ice_host),
        max_sessions=args.max_sessions,
    )
    backends = make_backends(settings, paths, StderrProgress())
    server = WebcamServer(backends, settings, paths, config)  # validates cert/key before models load
    started = now_ms()
    print("aiwebcam: loading models…", file=sys.stderr, flush=True)
    await backends.load()
    print(f"aiwebcam: models ready in {(now_ms() - started) / 1000:.1f} s ({backends.asr.name}, {backends.llm.name}, {backends.tts.name})", file=sys.stderr, flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows
            pass
    try:
        url = await server.start()
        print(url, flush=True)
        if config.tls and not config.cert:
            print("aiwebcam: the certificate is self-signed: the browser asks once to accept it", file=sys.stderr, flush=True)
        print("aiwebcam: serving; Ctrl+C stops", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await server.stop()
        await backends.aclose()
    return 0
