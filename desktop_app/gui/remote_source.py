"""A connected browser's camera or screen as a video source for the window's video view.

It polls the server session's latest frame on a QTimer while it runs (only while the
browser is selected) and converts a frame only when a new one has arrived.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QImage

from desktop_app.media.capture import FrameSource
from desktop_app.server.session import BrowserSession


def rgb_to_qimage(rgb) -> QImage:
    """An (H, W, 3) uint8 RGB array as a QImage that owns its pixels."""
    height, width = rgb.shape[:2]
    return QImage(rgb.tobytes(), width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class RemoteFrameSource(FrameSource):
    def __init__(self, session: BrowserSession, fps: int = 15, parent: QObject | None = None) -> None:
        super().__init__(f"Browser {session.remote or session.id}", parent)
        self.session = session
        self._last = None
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, 1000 // fps))
        self._timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def poll(self) -> None:
        frame = self.session.latest_frame
        if frame is None or frame is self._last:
            return
        self._last = frame
        rgb = self.session.latest_frame_rgb()
        if rgb is not None:
            self._publish(rgb_to_qimage(rgb))
