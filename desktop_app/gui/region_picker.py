"""Pick a region of a screen to show the AI: drag a rectangle over a still of the screen.

A frameless window covers the screen with what it showed when the picker opened,
dimmed; the dragged rectangle shows through at full brightness with its size. Releasing
the mouse picks it; Esc (or a click without a drag) cancels.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QScreen
from PySide6.QtWidgets import QWidget

MIN_SIDE = 24  # smaller drags are clicks: nothing to read in them


class RegionPicker(QWidget):
    picked = Signal(QRect)  # in the screen's own logical coordinates
    cancelled = Signal()

    def __init__(self, screen: QScreen | None = None) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint | Qt.WindowType.Tool)
        self.setObjectName("regionPicker")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.screen_ = screen or QGuiApplication.primaryScreen()
        self._still = self.screen_.grabWindow(0)
        self._origin: QPoint | None = None
        self._current: QPoint | None = None
        self._done = False
        self.setGeometry(self.screen_.geometry())

    def open(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()
        self.setFocus()

    @property
    def selection(self) -> QRect:
        if self._origin is None or self._current is None:
            return QRect()
        return QRect(self._origin, self._current).normalized()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._origin = self._current = event.position().toPoint()
            self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._origin is not None:
            self._current = event.position().toPoint()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._origin is None:
            return
        self._current = event.position().toPoint()
        rect = self.selection
        if rect.width() < MIN_SIDE or rect.height() < MIN_SIDE:
            self._finish(None)
        else:
            self._finish(rect)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._finish(None)
        else:
            super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        if not self._done:  # closed by the window manager: no region
            self._done = True
            self.cancelled.emit()
        super().closeEvent(event)

    def _finish(self, rect: QRect | None) -> None:
        if self._done:
            return
        self._done = True
        self.hide()  # gone before the first grab of the region
        if rect is None:
            self.cancelled.emit()
        else:
            self.picked.emit(rect)
        self.close()

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.drawPixmap(self.rect(), self._still)
        p.fillRect(self.rect(), QColor(0, 0, 0, 130))
        rect = self.selection
        if not rect.isEmpty():
            ratio = self._still.width() / max(1, self.width())
            source = QRect(int(rect.x() * ratio), int(rect.y() * ratio), int(rect.width() * ratio), int(rect.height() * ratio))
            p.drawPixmap(rect, self._still, source)
            p.setPen(QPen(QColor("#4f9dff"), 2))
            p.drawRect(rect.adjusted(0, 0, -1, -1))
            p.setPen(QColor("#ffffff"))
            p.drawText(rect.bottomLeft() + QPoint(4, 18), f"{rect.width()} x {rect.height()}")
        else:
            p.setPen(QColor("#ffffff"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Drag over the part of the screen the AI may look at  (Esc: cancel)")
        p.end()
