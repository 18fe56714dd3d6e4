"""Camera or screen: a preview frame and the frame rate the app gets from it.

Uses the window's own sources (``desktop_app.media.capture``): the first camera, or the
first screen when there is none (``ctx.video`` picks one). Needs a Qt application and
an asyncio loop that runs Qt's events (qasync): the window's, or the one ``aiwebcam
doctor`` starts.
"""

from __future__ import annotations

import asyncio
import time

from desktop_app.device_check.context import CheckContext
from desktop_app.device_check.result import CheckResult, failed, passed, skipped

NAME = "camera/screen"
WATCH_S = 2.0  # how long frames are counted
FIRST_FRAME_S = 8.0  # a camera may take seconds to start
PREVIEW_WIDTH = 480
BLANK_STDDEV = 2.0  # grey levels: a picture flatter than this is blank (covered lens, black screen)


def _choose(kind: str):
    from desktop_app.media.capture import available_sources

    choices = available_sources()
    cameras = [c for c in choices if c.kind == "camera"]
    screens = [c for c in choices if c.kind == "screen"]
    if kind == "camera":
        return cameras[0] if cameras else None
    if kind == "screen":
        return screens[0] if screens else None
    return (cameras or screens or [None])[0]


async def check_video(ctx: CheckContext) -> CheckResult:
    from PySide6.QtGui import QGuiApplication

    if QGuiApplication.instance() is None:
        return failed(NAME, "no Qt application to capture with", "run the check from the window or 'aiwebcam doctor'")
    choice = _choose(ctx.video)
    if choice is not None and choice.kind == "screen" and not ctx.screens:
        return skipped(NAME, "no camera, and no display to capture (run the check in a desktop session to see the screen)")
    if choice is None:
        what = "camera" if ctx.video == "camera" else "camera or screen"
        return failed(NAME, f"no {what} found", "connect a camera (and check no other program uses it), or pick a screen as the source")
    ctx.on_progress(f"{NAME}: watching {choice.label} for {WATCH_S:.0f} s...")
    from desktop_app.media.capture import make_source

    source = make_source(choice)
    stamps: list[float] = []
    problems: list[str] = []
    source.frameChanged.connect(lambda: stamps.append(time.monotonic()))
    source.failed.connect(problems.append)
    try:
        source.start()
        started = time.monotonic()
        while not problems and time.monotonic() - started < FIRST_FRAME_S and not stamps:
            await asyncio.sleep(0.05)
        if stamps:
            first = stamps[0]
            while not problems and time.monotonic() - first < WATCH_S:
                await asyncio.sleep(0.05)
        image = source.current_image()
    finally:
        source.stop()
        source.deleteLater()
    if problems:
        return failed(NAME, f"{choice.label}: {problems[0]}", "close other programs using it, or pick another source")
    if not stamps or image is None:
        return failed(NAME, f"{choice.label}: no picture in {FIRST_FRAME_S:.0f} s", "check no other program uses the camera, or pick another source")
    span = stamps[-1] - stamps[0]
    fps = (len(stamps) - 1) / span if len(stamps) > 1 and span > 0 else 0.0
    figures = {"fps": round(fps, 1), "width": float(image.width()), "height": float(image.height())}
    measured = f"{choice.label}: {image.width()}x{image.height()} at {fps:.1f} fps ({len(stamps)} frames)"
    preview = _png(image)
    if _flat(image) and choice.kind == "screen":
        result = passed(NAME, f"{measured}; the screen is blank (one colour): nothing shown on it?", **figures)
    elif _flat(image):
        result = failed(NAME, f"{measured}, but the picture is blank (one colour)", "uncover the camera (privacy shutter?) or check its light", **figures)
    elif fps < 1.0:
        result = failed(NAME, f"{measured}: too few frames", "close other programs using the camera, or lower its resolution", **figures)
    else:
        result = passed(NAME, measured, **figures)
    return CheckResult(result.name, result.status, result.detail, result.fix, result.figures, preview)


def _flat(image) -> bool:
    import numpy as np
    from PySide6.QtGui import QImage

    small = image.scaled(64, 64).convertToFormat(QImage.Format.Format_Grayscale8)
    data = np.frombuffer(bytes(small.constBits()), dtype=np.uint8)[: small.bytesPerLine() * small.height()]
    pixels = data.reshape(small.height(), small.bytesPerLine())[:, : small.width()]
    return float(pixels.std()) < BLANK_STDDEV


def _png(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt

    if image.width() > PREVIEW_WIDTH:
        image = image.scaledToWidth(PREVIEW_WIDTH, Qt.TransformationMode.SmoothTransformation)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())
