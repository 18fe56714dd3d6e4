"""What the AI sees: the toolbar's source list, the source running behind it, and the frame a turn gets.

The sources are a camera, a screen (or a region of it, picked by dragging), another
app's window, the test pattern or nothing (:mod:`desktop_app.media.capture`); the app's
own windows are painted over. One source runs at a time. A turn gets the frame shown
when it starts, as a JPEG (screens keep more pixels, so small text stays readable), and
the transcript shows the same frame with the turn. The engine is told what the frames
show, and the toolbar's indicator what the AI gets of them.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, Signal
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QComboBox, QWidget

from desktop_app.gui.icons import icon
from desktop_app.gui.region_picker import RegionPicker
from desktop_app.gui.session import WindowSession
from desktop_app.gui.video_view import VideoView
from desktop_app.gui.view_indicator import ViewIndicator
from desktop_app.media.capture import (
    MAX_SIDE,
    SCREEN_MAX_SIDE,
    FrameSource,
    SourceChoice,
    available_sources,
    frame_jpeg,
    make_source,
)


class SourceSwitcher(QObject):
    message = Signal(str)  # one line for the status bar (a source failed, or says something)

    def __init__(
        self, combo: QComboBox, video: VideoView, indicator: ViewIndicator, session: WindowSession, window: QWidget
    ) -> None:
        super().__init__(window)
        self.combo = combo
        self._video = video
        self._indicator = indicator
        self._session = session
        self._window = window
        self.video_source: FrameSource | None = None
        self.turn_image: QImage | None = None  # the frame the last turn was given, for its entry
        self._index: int | None = None
        self._region_picker: RegionPicker | None = None
        self.choices: list[SourceChoice] = available_sources()
        for choice in self.choices:
            combo.addItem(icon("video"), choice.label)
        combo.currentIndexChanged.connect(self._on_index)

    # ---- choosing -------------------------------------------------------------------

    def pick(self, video: str, wanted_label: str) -> int:
        """The index to start with: ``wanted_label`` (remembered) if it is still there, else
        ``video`` ("auto": a camera if any, else the test pattern; or a kind)."""
        labels = [c.label for c in self.choices]
        if wanted_label in labels:
            return labels.index(wanted_label)
        kinds = [c.kind for c in self.choices]
        if video == "auto":
            return kinds.index("camera") if "camera" in kinds else kinds.index("pattern")
        return kinds.index(video) if video in kinds else kinds.index("pattern")

    def select(self, index: int) -> None:
        if self.combo.currentIndex() == index:
            self._on_index(index)
        else:
            self.combo.setCurrentIndex(index)

    def select_kind(self, kind: str) -> None:
        self.select([c.kind for c in self.choices].index(kind))

    def select_region(self, x: int, y: int, width: int, height: int, screen: int = 0) -> None:
        """Show the AI this region of a screen (logical pixels, from the screen's top left)."""
        index = [c.kind for c in self.choices].index("region")
        self.choices[index] = SourceChoice("region", f"Screen region {width}x{height}", screen, (x, y, width, height))
        self.combo.setItemText(index, self.choices[index].label + "...")
        self.select(index)
        if self.combo.currentIndex() == index:
            self._on_index(index)

    def _on_index(self, index: int) -> None:
        choice = self.choices[index]
        if choice.kind == "region" and choice.region is None:
            self._pick_region()
            return
        self._drop()
        source = make_source(choice, self._window, exclude=self._own_windows)
        if source is not None:
            source.failed.connect(self.message)
            source.notice.connect(self.message)
            source.start()
        self.video_source = source
        self._index = index
        self.show_on_video()
        self.show_view_source()

    def _pick_region(self) -> None:
        previous = self._index
        picker = RegionPicker(self._window.screen())
        picker.picked.connect(lambda rect: self.select_region(rect.x(), rect.y(), rect.width(), rect.height(), self._screen_index()))
        if previous is not None:  # cancelled: back to what was shown
            picker.cancelled.connect(lambda: self.combo.setCurrentIndex(previous))
        self._region_picker = picker
        picker.open()

    def _screen_index(self) -> int:
        screens = QGuiApplication.screens()
        screen = self._window.screen()
        return screens.index(screen) if screen in screens else 0

    @staticmethod
    def _own_windows() -> list[QRect]:
        """The app's visible windows (global coordinates): never shown to the AI."""
        return [w.frameGeometry() for w in QApplication.topLevelWidgets() if w.isVisible() and w.objectName() != "regionPicker"]

    # ---- showing --------------------------------------------------------------------

    def show_on_video(self) -> None:
        """The video view shows this source (again: a browser's video was shown)."""
        off = self.choices[self.combo.currentIndex()].kind == "off"
        self._video.set_source(self.video_source, "Video off" if off else "Waiting for frames...")

    def show_view_source(self) -> None:
        """Tell the engine what the frames show, and the user what the AI gets of them."""
        seen_as = self.choices[self._index].seen_as if self._index is not None else None
        session = self._session
        engine = session.engine
        if engine is not None and seen_as is not None:
            engine.set_view_source(seen_as)
        vision = engine.backends.llm.vision if engine is not None else session.settings.resolved_vision()
        reads = engine.reads_view if engine is not None else session.settings.read_text_in_view
        self._indicator.set_source(seen_as, vision=vision, reads_text=reads)

    # ---- frames for the AI ----------------------------------------------------------

    def frame_for_turn(self) -> bytes | None:
        """The frame a turn starting now gets (kept in :attr:`turn_image` for its entry)."""
        image = self.video_source.current_image() if self.video_source is not None else None
        if image is None or image.isNull():
            self.turn_image = None
            return None
        self.turn_image = image.copy()
        return self._jpeg(image)

    def take_turn_image(self) -> QImage | None:
        image, self.turn_image = self.turn_image, None
        return image

    def look_while_typing(self, text: str) -> None:
        """The user starts typing: read the text in view meanwhile, as a press does."""
        engine = self._session.engine
        if len(text) == 1 and engine is not None and engine.reads_view and self.video_source is not None:
            image = self.video_source.current_image()
            if image is not None and not image.isNull():
                engine.look(self._jpeg(image))

    def _jpeg(self, image: QImage) -> bytes:
        screen = self._index is not None and self.choices[self._index].seen_as in ("screen", "window")
        return frame_jpeg(image, SCREEN_MAX_SIDE if screen else MAX_SIDE)

    def _drop(self) -> None:
        if self.video_source is not None:
            self.video_source.stop()
            self.video_source.deleteLater()
            self.video_source = None

    def close(self) -> None:
        if self.video_source is not None:
            self.video_source.stop()
