"""Shows the current frame of a video source, scaled to fit, with the source's name."""

from __future__ import annotations

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from desktop_app.media.capture import FrameSource


class VideoView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("videoView")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(240, 135)
        self.source: FrameSource | None = None
        self.message = "No video source"
        self.recording = False

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(640, 360)

    def set_source(self, source: FrameSource | None, message: str = "No video source") -> None:
        if self.source is not None:
            self.source.frameChanged.disconnect(self.update)
        self.source = source
        self.message = message
        if source is not None:
            source.frameChanged.connect(self.update)
        self.update()

    def set_recording(self, recording: bool) -> None:
        self.recording = recording
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("#0b0d11"))
        image = self.source.current_image() if self.source is not None else None
        if image is not None and not image.isNull():
            size = image.size().scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(self.rect().center())
            p.drawImage(target, image)
        else:
            p.setPen(QColor("#7d8590"))
            p.setFont(QFont(self.font().family(), 11))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
        if self.source is not None:
            self._badge(p, QRectF(10, 10, 0, 24), self.source.name, QColor(0, 0, 0, 150), QColor("#e6e9ef"))
        if self.recording:
            self._badge(p, QRectF(self.width() - 10, 10, 0, 24), "\u25cf  Listening", QColor(218, 54, 51, 210), QColor("white"), right=True)
        p.end()

    def _badge(self, p: QPainter, at: QRectF, text: str, bg: QColor, fg: QColor, right: bool = False) -> None:
        font = QFont(self.font().family(), 9)
        font.setBold(True)
        p.setFont(font)
        width = p.fontMetrics().horizontalAdvance(text) + 18
        rect = QRectF(at.left() - width if right else at.left(), at.top(), width, at.height())
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(bg)
        p.drawRoundedRect(rect, 6, 6)
        p.setPen(fg)
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
