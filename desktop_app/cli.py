"""Command line: ``aiwebcam`` (the window), ``aiwebcam ask``, ``chat``, ``serve``, ``history``, ``settings``, ``doctor``."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from desktop_app import __version__
from desktop_app.config import AppPaths, Settings, load_settings
from desktop_app.errors import AppError, redact
from desktop_app.malloc_arenas import limit_malloc_arenas
from desktop_app.process_exit import exit_process


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aiwebcam", description="Talk face to face with an AI.")
    parser.add_argument("--version", action="version", version=f"aiwebcam {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more (never secrets)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--self-test", action="store_true", help="check this installation offline (models, one spoken turn, Qt, browser client) and exit")
    parser.add_argument("--screenshot", metavar="FILE", type=Path, help="open the window, save a PNG of it to FILE and exit")
    parser.add_argument("--conversation", metavar="ID", dest="open_conversation", help="open the window on this saved conversation")
    parser.add_argument(
        "--source",
        metavar="SOURCE",
        help="what the window shows the AI: camera, screen, pattern, off, or region:X,Y,WIDTH,HEIGHT (a part of the screen)",
    )
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("chat", help="talk in this terminal: type, read and hear the reply")

    ask = sub.add_parser("ask", help="run one spoken (or typed) turn headless")
    ask.add_argument("audio", nargs="?", help="the spoken question (WAV, MP3, Ogg, FLAC, ...)")
    ask.add_argument("--text", default="", help="typed text (alone, or added after the transcript)")
    ask.add_argument("--image", help="an image to show the model (a model that cannot see gets the text in it, read offline)")
    ask.add_argument("--out", help="write the spoken reply to this WAV file")
    ask.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    group = ask.add_mutually_exclusive_group()
    group.add_argument("--conversation", metavar="ID", help="continue this saved conversation")
    group.add_argument("--continue", dest="continue_latest", action="store_true", help="continue the latest conversation")

    bench = sub.add_parser("bench", help="measure voice-to-voice latency on the configured models")
    bench.add_argument("--turns", type=int, default=20, help="spoken turns to measure (default 20)")
    bench.add_argument("--llm", help="LLM for this run: qwen2.5-coder-1.5b, smollm2-135m, a .gguf path, or openai")
    bench.add_argument("--wav", action="append", help="a spoken question to use (repeatable); default: built-in questions")
    bench.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    bench.add_argument("--no-idle", action="store_true", help="skip the desktop app idle-CPU measurement")
    bench.add_argument("--release-after", type=float, default=None, metavar="S",
                       help="built-in questions: let go of the key S seconds after the last word (default 0.3)")  # fmt: skip
    bench.add_argument("--idle-seconds", type=float, default=10.0)

    hist = sub.add_parser("history", help="list saved conversations, or print one")
    hist.add_argument("id", nargs="?", help="the conversation to print")
    hist.add_argument("--json", action="store_true")

    sub.add_parser("settings", help="show the effective settings (keys hidden) and where they live")

    from desktop_app.commands.serve import add_serve_parser

    add_serve_parser(sub)
    from desktop_app.commands.doctor import add_doctor_parser

    add_doctor_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A frozen app (PyInstaller) re-runs this entry point for multiprocessing children.
    import multiprocessing

    multiprocessing.freeze_support()
    limit_malloc_arenas()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    settings: Settings | None = None
    try:
        if args.self_test:
            from desktop_app.commands.self_test import run_self_test

            return run_self_test()
        from desktop_app.key_store import load_api_key

        paths = AppPaths.from_env()
        settings = load_settings(paths, load_key=load_api_key)
        if args.command == "ask":
            from desktop_app.commands.ask import run_ask

            return asyncio.run(run_ask(args, settings, paths))
        if args.command == "bench":
            from desktop_app.commands.bench import run_bench_command

            return asyncio.run(run_bench_command(args, settings, paths))
        if args.command == "history":
            from desktop_app.commands.history import run_history

            return run_history(args, paths)
        if args.command == "settings":
            print(json.dumps({"settings_file": str(paths.settings_file), "data_dir": str(paths.data_dir), **settings.redacted()}, indent=2))
            return 0
        if args.command == "serve":
            from desktop_app.commands.serve import run_serve

            return asyncio.run(run_serve(args, settings, paths))
        if args.command == "doctor":
            from desktop_app.commands.doctor import run_doctor

            return run_doctor(args, settings, paths)
        if args.command == "chat":
            from desktop_app.commands.chat import run_chat

            return asyncio.run(run_chat(settings, paths))
        from desktop_app.gui.app import run_app

        return run_app(settings, paths, args.screenshot, args.open_conversation, args.source)
    except AppError as exc:
        _fail(str(exc), settings)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug:
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", settings)
        return 70


def console_main() -> NoReturn:
    """The ``aiwebcam`` command: :func:`main`, then the process ends without finalization (see process_exit)."""
    try:
        code: object = main()
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        code = exc.code
    exit_process(code)


def _fail(message: str, settings: Settings | None) -> None:
    key = settings.llm_api_key.get() if settings else ""
    message = redact(message, key, os.environ.get("OPENAI_API_KEY"))
    print(f"aiwebcam: error: {' '.join(message.split())}", file=sys.stderr)
