"""A horizontal microphone level bar (0..1), with a short peak hold."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("levelMeter")
        self.setToolTip("Microphone level")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.level = 0.0
        self.peak = 0.0

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(120, 10)

    def set_level(self, level: float) -> None:
        level = max(0.0, min(1.0, level))
        self.level = level if level >= self.level else self.level * 0.7 + level * 0.3
        self.peak = max(level, self.peak - 0.02)
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#1a1f27"))
        p.drawRoundedRect(rect, 4, 4)
        if self.level > 0.0:
            grad = QLinearGradient(rect.topLeft(), rect.topRight())
            grad.setColorAt(0.0, QColor("#2ea043"))
            grad.setColorAt(0.7, QColor("#d29922"))
            grad.setColorAt(1.0, QColor("#f85149"))
            p.setBrush(grad)
            p.drawRoundedRect(QRectF(rect.left(), rect.top(), rect.width() * self.level, rect.height()), 4, 4)
        if self.peak > 0.01:
            x = rect.left() + rect.width() * self.peak
            p.setBrush(QColor("#e6e9ef"))
            p.drawRect(QRectF(x - 1, rect.top(), 2, rect.height()))
        p.end()
