"""Video sources for the window: webcam, screen, and an animated test pattern.

Every source is a :class:`FrameSource`: ``start()``/``stop()``, a ``frameChanged``
signal, and ``current_image()`` for the latest frame. ``frame_jpeg`` turns that frame
into the sensibly sized JPEG a turn carries for vision models.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QLinearGradient, QPainter, QPen, QScreen

MAX_SIDE = 1024  # longest side of the JPEG sent to a vision model
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


class ScreenSource(FrameSource):
    """Periodic grabs of one screen (QScreen.grabWindow)."""

    def __init__(self, screen: QScreen, fps: int = 5, parent: QObject | None = None) -> None:
        super().__init__(f"Screen: {screen.name() or 'screen'}", parent)
        self.screen = screen
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, 1000 // fps))
        self._timer.timeout.connect(self._grab)

    def start(self) -> None:
        self._grab()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _grab(self) -> None:
        pixmap = self.screen.grabWindow(0)
        if pixmap.isNull():
            self._timer.stop()
            self.failed.emit(f"cannot capture {self.name}")
            return
        self._publish(pixmap.toImage())


class CameraSource(FrameSource):
    """A webcam through QtMultimedia: QCamera -> QMediaCaptureSession -> QVideoSink.

    Frames are kept as QVideoFrame and converted to QImage only when read.
    """

    def __init__(self, device, parent: QObject | None = None) -> None:  # device: QCameraDevice
        from PySide6.QtMultimedia import QCamera, QMediaCaptureSession, QVideoSink

        super().__init__(f"Camera: {device.description()}", parent)
        self._camera = QCamera(device)
        self._session = QMediaCaptureSession()
        self._sink = QVideoSink()
        self._session.setCamera(self._camera)
        self._session.setVideoSink(self._sink)
        self._frame = None
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._camera.errorOccurred.connect(lambda _error, text: self.failed.emit(f"camera error: {text}"))

    def start(self) -> None:
        self._camera.start()

    def stop(self) -> None:
        self._camera.stop()

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


@dataclass(frozen=True)
class SourceChoice:
    """One entry of the source switch: ``kind`` is "camera", "screen", "pattern" or "off"."""

    kind: str
    label: str
    index: int = 0  # which camera or screen


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
    choices.append(SourceChoice("pattern", "Test pattern"))
    choices.append(SourceChoice("off", "No video"))
    return choices


def make_source(choice: SourceChoice, parent: QObject | None = None) -> FrameSource | None:
    if choice.kind == "camera":
        from PySide6.QtMultimedia import QMediaDevices

        return CameraSource(QMediaDevices.videoInputs()[choice.index], parent)
    if choice.kind == "screen":
        return ScreenSource(QGuiApplication.screens()[choice.index], parent=parent)
    if choice.kind == "pattern":
        return TestPatternSource(parent=parent)
    return None
