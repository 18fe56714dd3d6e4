"""Run under a real X server: another app's window with an error message, the app's own
window with a secret, and the app's screen sources grabbing them. Writes PNGs to argv[1];
with ``--show``, only shows the other app's window until killed."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

from desktop_app.media.capture import ScreenSource

OTHER_TEXT = "QuotaExceededError: error code 4291\nFile billing/upload.py, line 42"
OWN_TEXT = "OWN TRANSCRIPT 7777"


def label(text: str, rect: QRect) -> QLabel:
    widget = QLabel(text)
    widget.setWindowFlags(Qt.WindowType.FramelessWindowHint)
    widget.setFont(QFont("DejaVu Sans Mono", 20))
    widget.setStyleSheet("background: white; color: black; padding: 20px;")
    widget.setGeometry(rect)
    widget.show()
    return widget


def show_other() -> None:
    """Only another app's window with the error, until killed."""
    app = QApplication(sys.argv[:1])
    other = label(OTHER_TEXT, QRect(0, 0, 640, 400))
    app.exec()
    del other


def main() -> None:
    if sys.argv[1] == "--show":
        show_other()
        return
    out = Path(sys.argv[1])
    app = QApplication(sys.argv[:1])
    other = label(OTHER_TEXT, QRect(0, 0, 640, 400))
    own = label(OWN_TEXT, QRect(660, 0, 600, 400))
    screen = QGuiApplication.primaryScreen()

    def grab() -> None:
        whole = ScreenSource(screen, exclude=lambda: [own.frameGeometry()])
        whole._grab()
        whole.current_image().save(str(out / "screen.png"))
        region = ScreenSource(screen, region=QRect(0, 0, 640, 400), exclude=lambda: [own.frameGeometry()])
        region._grab()
        region.current_image().save(str(out / "region.png"))
        unmasked = ScreenSource(screen)
        unmasked._grab()
        unmasked.current_image().save(str(out / "unmasked.png"))
        app.quit()

    QTimer.singleShot(1000, grab)
    app.exec()
    del other, own


if __name__ == "__main__":
    main()
