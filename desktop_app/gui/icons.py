"""Small line icons drawn with QPainter, in the theme's foreground colour."""

from __future__ import annotations

import functools
import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

SIZE = 64  # drawn at 64 px, scaled down by Qt
COLOR = "#d6dae1"


def _pen(color: str, width: float = 5.0) -> QPen:
    pen = QPen(QColor(color), width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _mic(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(22, 8, 20, 32), 10, 10)
    path = QPainterPath()
    path.moveTo(14, 30)
    path.cubicTo(14, 52, 50, 52, 50, 30)
    p.drawPath(path)
    p.drawLine(32, 47, 32, 56)
    p.drawLine(22, 56, 42, 56)


def _stop(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(16, 16, 32, 32), 5, 5)


def _send(p: QPainter) -> None:
    p.drawPolygon(QPolygonF([QPointF(10, 12), QPointF(56, 32), QPointF(10, 52), QPointF(18, 32)]))
    p.drawLine(18, 32, 40, 32)


def _new(p: QPainter) -> None:
    p.drawLine(32, 14, 32, 50)
    p.drawLine(14, 32, 50, 32)


def _export(p: QPainter) -> None:
    p.drawPolyline(QPolygonF([QPointF(14, 34), QPointF(14, 54), QPointF(50, 54), QPointF(50, 34)]))
    p.drawLine(32, 10, 32, 40)
    p.drawPolyline(QPolygonF([QPointF(20, 22), QPointF(32, 10), QPointF(44, 22)]))


def _settings(p: QPainter) -> None:
    for i in range(8):
        a = i * math.pi / 4
        p.drawLine(QPointF(32 + 17 * math.cos(a), 32 + 17 * math.sin(a)), QPointF(32 + 25 * math.cos(a), 32 + 25 * math.sin(a)))
    p.drawEllipse(QPointF(32, 32), 16, 16)
    p.drawEllipse(QPointF(32, 32), 6, 6)


def _video(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(8, 18, 34, 28), 5, 5)
    p.drawPolygon(QPolygonF([QPointF(42, 28), QPointF(56, 20), QPointF(56, 44), QPointF(42, 36)]))


def _layout(p: QPainter) -> None:
    p.drawRoundedRect(QRectF(10, 12, 44, 40), 4, 4)
    p.drawLine(30, 12, 30, 52)
    p.drawLine(30, 32, 54, 32)


def _host(p: QPainter) -> None:
    p.drawEllipse(QPointF(32, 36), 5, 5)
    for radius in (14, 24):
        p.drawArc(QRectF(32 - radius, 36 - radius, 2 * radius, 2 * radius), 35 * 16, 110 * 16)
    p.drawLine(32, 41, 32, 56)


_DRAW = {"mic": _mic, "stop": _stop, "send": _send, "new": _new, "export": _export, "settings": _settings, "video": _video, "layout": _layout, "host": _host}


@functools.lru_cache(maxsize=None)
def icon(name: str, color: str = COLOR) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(_pen(color))
    p.setBrush(Qt.BrushStyle.NoBrush)
    _DRAW[name](p)
    p.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The window icon: a camera lens with a speech dot."""
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#3b82f6"))
    p.drawRoundedRect(QRectF(4, 4, 56, 56), 14, 14)
    p.setBrush(QColor("#0b1220"))
    p.drawEllipse(QPointF(32, 32), 16, 16)
    p.setBrush(QColor("#93c5fd"))
    p.drawEllipse(QPointF(32, 32), 7, 7)
    p.setBrush(QColor("#f472b6"))
    p.drawEllipse(QPointF(50, 14), 6, 6)
    p.end()
    return QIcon(pixmap)
