"""``aiwebcam doctor``: check the microphone, speaker, echo, camera or screen, and a spoken turn.

Prints one line per check, ``[PASS]``, ``[FAIL]`` or ``[SKIP]``, each failure with its fix;
the exit status is 0 only when every check passed. The checks themselves live in
``desktop_app.device_check`` (the window's Device check dialog runs the same ones).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from desktop_app.config import AppPaths, Settings


def add_doctor_parser(sub) -> None:
    doctor = sub.add_parser("doctor", help="check the microphone, speaker, echo, camera/screen and a spoken turn")
    doctor.add_argument("--only", default="", metavar="LIST", help="comma-separated checks: mic,speaker,echo,camera,turn (default: all)")
    doctor.add_argument("--seconds", type=float, default=3.0, help="how long to record the microphone (default 3)")
    doctor.add_argument("--input", metavar="DEVICE", help="microphone to check (default: the one in the settings)")
    doctor.add_argument("--output", metavar="DEVICE", help="speaker to check (default: the one in the settings)")
    doctor.add_argument("--video", choices=("auto", "camera", "screen"), default="auto", help="auto: a camera if any, else the screen")
    doctor.add_argument("--preview", metavar="FILE", type=Path, help="save the camera/screen frame as a PNG")
    doctor.add_argument("--json", action="store_true", help="print one JSON object as the last line")


class _LevelLine:
    """The live microphone level as a bar that redraws itself (terminals only)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self._last = 0.0
        self._lock = threading.Lock()
        self.drawn = False

    def __call__(self, level_db: float) -> None:
        if not self.live:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last < 0.1:
                return
            self._last = now
            filled = max(0, min(30, round((level_db + 60) / 2)))
            self.out.write(f"\r  level {level_db:6.1f} dBFS |{'#' * filled}{' ' * (30 - filled)}|")
            self.out.flush()
            self.drawn = True

    def end(self) -> None:
        with self._lock:
            if self.drawn:
                self.out.write("\n")
                self.drawn = False


def run_doctor(args: argparse.Namespace, settings: Settings, paths: AppPaths, out: TextIO | None = None) -> int:
    from desktop_app.device_check import CheckContext, parse_keys

    out = out or sys.stdout
    try:
        keys = parse_keys(args.only)
    except ValueError as exc:
        print(f"aiwebcam doctor: {exc}", file=sys.stderr)
        return 2
    meter = _LevelLine(out)
    ctx = CheckContext.from_settings(settings, paths, seconds=max(0.5, args.seconds), video=args.video, on_level=meter, on_progress=lambda text: (meter.end(), _write(out, f"  {text}")))
    if args.input is not None:
        ctx.input_device = args.input
    if args.output is not None:
        ctx.output_device = args.output
    _write(out, f"aiwebcam doctor: {', '.join(keys)} (microphone {ctx.input_label}, speaker {ctx.output_label})")

    def on_result(result) -> None:
        meter.end()
        _write(out, result.line())
        if result.preview and args.preview:
            args.preview.parent.mkdir(parents=True, exist_ok=True)
            args.preview.write_bytes(result.preview)
            _write(out, f"  frame saved to {args.preview}")

    from desktop_app.device_check import run_checks

    coro = run_checks(ctx, keys, on_result)
    if "camera" in keys:
        results = _run_with_qt(coro, ctx)
    else:
        results = asyncio.run(coro)
    failed = [r.name for r in results if r.status.value == "FAIL"]
    if failed:
        _write(out, f"doctor: FAIL ({len(failed)} of {len(results)} checks failed: {', '.join(failed)})")
    else:
        _write(out, f"doctor: PASS ({sum(r.passed for r in results)} passed, {len(results) - sum(r.passed for r in results)} skipped)")
    if args.json:
        _write(out, json.dumps({"passed": not failed, "checks": [r.to_json() for r in results]}))
    return 1 if failed else 0


def _run_with_qt(coro, ctx):
    """The camera check needs Qt: run everything on a qasync loop (offscreen without a display)."""
    from desktop_app.gui.display import display_problem

    if display_problem() is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # cameras still work; there is no screen to grab
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["aiwebcam"])
    ctx.screens = app.platformName() != "offscreen"  # an offscreen "screen" holds no picture
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        return loop.run_until_complete(coro)


def _write(out: TextIO, text: str) -> None:
    out.write(text + "\n")
    out.flush()
