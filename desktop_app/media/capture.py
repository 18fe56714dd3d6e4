"""Video sources for the window: webcam, screen (whole, or a region), another app's
window, and an animated test pattern.

Every source is a :class:`FrameSource`: ``start()``/``stop()``, a ``frameChanged``
signal, and ``current_image()`` for the latest frame. ``frame_jpeg`` turns that frame
into the sensibly sized JPEG a turn carries for vision models.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QLinearGradient, QPainter, QPen, QScreen

MAX_SIDE = 1024  # longest side of the JPEG sent to a vision model
SCREEN_MAX_SIDE = 1600  # screens: small text stays readable (OCR read 27 of 28 words, 22 at 1024)
JPEG_QUALITY = 85


def frame_jpeg(image: QImage, max_side: int = MAX_SIDE, quality: int = JPEG_QUALITY) -> bytes:
    """A QImage as JPEG bytes, scaled down so its longest side is at most ``max_side``."""
    if image.width() > max_side or image.height() > max_side:
        image = image.scaled(max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_RGB32).save(buffer, "JPEG", quality)
    buffer.close()
    return bytes(data.data())


class FrameSource(QObject):
    """A live picture: start it, get told about new frames, read the latest one.

    Each source (test pattern, screen, camera, remote browser) defines ``start()`` and
    ``stop()``; this base holds the latest frame and announces new ones.
    """

    frameChanged = Signal()
    failed = Signal(str)  # one user-facing line
    notice = Signal(str)  # one user-facing line about what the frames show

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.frames = 0  # frames produced since creation
        self._image: QImage | None = None

    def current_image(self) -> QImage | None:
        return self._image

    def _publish(self, image: QImage) -> None:
        if image.isNull():
            return
        self._image = image
        self.frames += 1
        self.frameChanged.emit()


class TestPatternSource(FrameSource):
    """Colour bars, a moving ball and a clock: for machines without a camera, and tests.

    It is the default source on machines without a camera, so it stays cheap when the
    app idles: 2 frames a second over a background drawn once.
    """

    def __init__(self, size: tuple[int, int] = (960, 540), fps: int = 2, parent: QObject | None = None) -> None:
        super().__init__("Test pattern", parent)
        self._size = size
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, 1000 // fps))
        self._timer.timeout.connect(self._draw)
        self._t0 = time.monotonic()
        self._background: QImage | None = None

    def start(self) -> None:
        self._draw()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _draw(self) -> None:
        w, h = self._size
        t = time.monotonic() - self._t0
        if self._background is None:
            self._background = self._draw_background(w, h)
        image = self._background.copy()
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        cx = w / 2 + math.sin(t * 1.3) * w * 0.35
        cy = h * 0.3 + math.cos(t * 2.1) * h * 0.18
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#4f9dff"))
        p.drawEllipse(QPointF(cx, cy), h * 0.07, h * 0.07)
        p.setPen(QColor("#e8ecf2"))
        font = QFont("DejaVu Sans", max(8, h // 30))
        p.setFont(font)
        p.drawText(QRectF(0, h * 0.87, w, h * 0.1), Qt.AlignmentFlag.AlignCenter, time.strftime("%H:%M:%S") + f"  frame {self.frames}")
        p.end()
        self._publish(image)

    @staticmethod
    def _draw_background(w: int, h: int) -> QImage:
        image = QImage(w, h, QImage.Format.Format_RGB32)
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        grad = QLinearGradient(0, 0, w, h)
        grad.setColorAt(0.0, QColor("#1b2330"))
        grad.setColorAt(1.0, QColor("#2c1f3a"))
        p.fillRect(0, 0, w, h, grad)
        bars = ["#c0c0c0", "#c0c000", "#00c0c0", "#00c000", "#c000c0", "#c00000", "#0000c0"]
        bar_w = w / len(bars)
        for i, color in enumerate(bars):
            p.fillRect(QRectF(i * bar_w, h * 0.62, bar_w + 1, h * 0.12), QColor(color))
        p.setPen(QPen(QColor(255, 255, 255, 40), 1))
        for x in range(0, w, 40):
            p.drawLine(x, 0, x, int(h * 0.6))
        for y in range(0, int(h * 0.6), 40):
            p.drawLine(0, y, w, y)
        p.setPen(QColor("#e8ecf2"))
        font = QFont("DejaVu Sans", max(10, h // 18))
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(0, h * 0.76, w, h * 0.12), Qt.AlignmentFlag.AlignCenter, "AI Webcam test pattern")
        p.end()
        return image


# Rectangles (global screen coordinates) the AI must not be shown: the app's own windows,
# so it does not read its own transcript back.
Exclusions = Callable[[], list[QRect]]
HIDDEN_FILL = QColor("#3a3f47")


class ScreenSource(FrameSource):
    """Periodic grabs of one screen (QScreen.grabWindow), or of a region of it.

    ``region`` is in the screen's own coordinates (logical pixels, origin at its top
    left); None: the whole screen. Whatever of ``exclude()`` falls inside is painted over
    before anyone (the view, the AI) sees the frame.
    """

    def __init__(
        self,
        screen: QScreen,
        fps: int = 5,
        parent: QObject | None = None,
        region: QRect | None = None,
        exclude: Exclusions | None = None,
    ) -> None:
        name = screen.name() or "screen"
        if region is not None:
            name = f"{name} region {region.width()}x{region.height()}"
        super().__init__(f"Screen: {name}", parent)
        self.screen = screen
        self.region = region
        self._exclude = exclude
        self._covered = False  # the app's own windows hide (almost) all of it
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, 1000 // fps))
        self._timer.timeout.connect(self._grab)

    def start(self) -> None:
        self._grab()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _grab(self) -> None:
        area = self.region or QRect(0, 0, self.screen.geometry().width(), self.screen.geometry().height())
        pixmap = self.screen.grabWindow(0, area.x(), area.y(), area.width(), area.height())
        if pixmap.isNull():
            self._timer.stop()
            self.failed.emit(f"cannot capture {self.name}")
            return
        image = pixmap.toImage()
        if self._exclude is not None:
            origin = self.screen.geometry().topLeft() + area.topLeft()  # global coordinates of pixel (0, 0)
            hidden = hide_rects(image, [r.translated(-origin) for r in self._exclude()], image.width() / max(1, area.width()))
            covered = hidden > 0.9
            if covered and not self._covered:
                self.notice.emit("This window covers the screen and is hidden from the AI: make it smaller, or pick a region")
            self._covered = covered
        self._publish(image)


def hide_rects(image: QImage, rects: list[QRect], scale: float = 1.0) -> float:
    """Paint over ``rects`` (logical pixels, relative to the image's top left) in place.
    Returns the share of the image painted over (overlaps counted once, roughly)."""
    bounds = QRectF(0, 0, image.width(), image.height())
    painter = None
    painted = 0.0
    for rect in rects:
        area = QRectF(rect.x() * scale, rect.y() * scale, rect.width() * scale, rect.height() * scale).intersected(bounds)
        if area.isEmpty():
            continue
        if painter is None:
            painter = QPainter(image)
        painter.fillRect(area, HIDDEN_FILL)
        painted += area.width() * area.height()
    if painter is not None:
        painter.end()
    return min(1.0, painted / max(1.0, bounds.width() * bounds.height()))


class MediaSource(FrameSource):
    """A QtMultimedia input (camera, window capture) -> QMediaCaptureSession -> QVideoSink.

    Frames are kept as QVideoFrame and converted to QImage only when read.
    """

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        from PySide6.QtMultimedia import QMediaCaptureSession, QVideoSink

        super().__init__(name, parent)
        self._session = QMediaCaptureSession()
        self._sink = QVideoSink()
        self._session.setVideoSink(self._sink)
        self._frame = None
        self._sink.videoFrameChanged.connect(self._on_frame)

    def _on_frame(self, frame) -> None:
        if frame.isValid():
            self._frame = frame
            self._image = None
            self.frames += 1
            self.frameChanged.emit()

    def current_image(self) -> QImage | None:
        if self._image is None and self._frame is not None:
            image = self._frame.toImage()
            self._image = None if image.isNull() else image
        return self._image


class WindowSource(MediaSource):
    """Another app's window, through QtMultimedia's QWindowCapture (Windows, macOS, X11;
    not Wayland, where the desktop's own screen-share dialog is the way)."""

    def __init__(self, window, parent: QObject | None = None) -> None:  # window: QCapturableWindow
        from PySide6.QtMultimedia import QWindowCapture

        super().__init__(f"Window: {window.description() or 'window'}", parent)
        self._capture = QWindowCapture()
        self._capture.setWindow(window)
        self._session.setWindowCapture(self._capture)
        self._capture.errorOccurred.connect(lambda _error, text: self.failed.emit(f"window capture: {text or 'the window is gone'}"))

    def start(self) -> None:
        self._capture.start()

    def stop(self) -> None:
        self._capture.stop()


class CameraSource(MediaSource):
    """A webcam through QtMultimedia's QCamera."""

    def __init__(self, device, parent: QObject | None = None) -> None:  # device: QCameraDevice
        from PySide6.QtMultimedia import QCamera

        super().__init__(f"Camera: {device.description()}", parent)
        self._camera = QCamera(device)
        self._session.setCamera(self._camera)
        self._camera.errorOccurred.connect(lambda _error, text: self.failed.emit(f"camera error: {text}"))

    def start(self) -> None:
        self._camera.start()

    def stop(self) -> None:
        self._camera.stop()


@dataclass(frozen=True)
class SourceChoice:
    """One entry of the source switch: ``kind`` is "camera", "screen", "region", "window",
    "pattern" or "off"."""

    kind: str
    label: str
    index: int = 0  # which camera, screen or window
    region: tuple[int, int, int, int] | None = None  # kind "region": x, y, width, height on screen ``index``

    @property
    def seen_as(self) -> str | None:
        """What the AI is told it is looking at; None when there is nothing to see."""
        return {"camera": "camera", "screen": "screen", "region": "screen", "window": "window", "pattern": "camera"}.get(self.kind)


def available_sources() -> list[SourceChoice]:
    """Cameras first, then screens, then the test pattern and "off"."""
    choices: list[SourceChoice] = []
    try:
        from PySide6.QtMultimedia import QMediaDevices

        for i, device in enumerate(QMediaDevices.videoInputs()):
            choices.append(SourceChoice("camera", f"Camera: {device.description()}", i))
    except ImportError:
        pass
    for i, screen in enumerate(QGuiApplication.screens()):
        size = screen.size()
        choices.append(SourceChoice("screen", f"Screen: {screen.name() or i + 1} ({size.width()}x{size.height()})", i))
    choices.append(SourceChoice("region", "Screen region..."))
    for i, title in enumerate(capturable_windows()):
        choices.append(SourceChoice("window", f"Window: {title}", i))
    choices.append(SourceChoice("pattern", "Test pattern"))
    choices.append(SourceChoice("off", "No video"))
    return choices


def capturable_windows() -> list[str]:
    """Titles of other apps' windows that can be captured (empty on Wayland, or without a
    window manager to list them)."""
    try:
        from PySide6.QtMultimedia import QWindowCapture

        return [w.description() or f"window {i + 1}" for i, w in enumerate(QWindowCapture.capturableWindows())]
    except (ImportError, RuntimeError):
        return []


def make_source(choice: SourceChoice, parent: QObject | None = None, exclude: Exclusions | None = None) -> FrameSource | None:
    """The source for ``choice``; ``exclude`` gives the app's own windows, hidden from
    screen grabs. None for "off", a region not picked yet, or a window that is gone."""
    if choice.kind == "camera":
        from PySide6.QtMultimedia import QMediaDevices

        return CameraSource(QMediaDevices.videoInputs()[choice.index], parent)
    if choice.kind == "screen":
        return ScreenSource(QGuiApplication.screens()[choice.index], parent=parent, exclude=exclude)
    if choice.kind == "region":
        if choice.region is None:
            return None
        screens = QGuiApplication.screens()
        screen = screens[min(choice.index, len(screens) - 1)]
        return ScreenSource(screen, parent=parent, region=QRect(*choice.region), exclude=exclude)
    if choice.kind == "window":
        from PySide6.QtMultimedia import QWindowCapture

        windows = QWindowCapture.capturableWindows()
        return WindowSource(windows[choice.index], parent) if choice.index < len(windows) else None
    if choice.kind == "pattern":
        return TestPatternSource(parent=parent)
    return None
