"""The window says what the AI gets of the view, and shows the text it read, one click away."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui.helpers import close_window, last_entry, open_window, wait_ready, wait_turn_finished


def test_the_indicator_follows_the_source_and_shows_the_text_read(qtbot, qloop):
    window = open_window(qtbot, qloop)  # the test pattern; SmolLM2 cannot see images
    try:
        wait_ready(qtbot, window)
        indicator = window.view_indicator
        assert indicator.text() == "AI reads: camera text"
        assert window.session.engine.view_source == "camera"

        box = window.talk_bar.input
        box.setFocus()
        QTest.keyClicks(box, "What does the text on my camera say?")  # typing starts the reading
        QTest.keyClick(box, Qt.Key.Key_Return)
        wait_turn_finished(qtbot, window, 1)
        assert last_entry(window).state == "done"
        qtbot.waitUntil(lambda: indicator.last_view is not None, timeout=5000)
        view = indicator.last_view
        assert view.given == "text" and "pattern" in view.text.lower()  # "AI Webcam test pattern"
        assert indicator.text().startswith("AI reads: camera text (")

        indicator.click()
        dialog = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "viewTextDialog" and w.isVisible())
        assert "pattern" in dialog.text.toPlainText().lower()
        assert dialog.summary.text().startswith("Last turn: camera: text")
        dialog.close()

        window.select_source_kind("off")
        assert indicator.text() == "AI sees: nothing"
    finally:
        close_window(qtbot, window)


def test_a_region_is_picked_by_dragging_and_esc_cancels(qtbot):
    from PySide6.QtCore import QPoint

    from desktop_app.gui.region_picker import RegionPicker

    picked, cancelled = [], []
    picker = RegionPicker()
    picker.picked.connect(picked.append)
    picker.cancelled.connect(lambda: cancelled.append(True))
    picker.open()
    qtbot.waitExposed(picker)
    QTest.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(100, 80))
    QTest.mouseMove(picker, QPoint(400, 300))
    QTest.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(420, 320))
    assert [(r.x(), r.y(), r.width(), r.height()) for r in picked] == [(100, 80, 321, 241)] and not cancelled

    for gesture in ("esc", "click"):
        picker = RegionPicker()
        picker.picked.connect(picked.append)
        picker.cancelled.connect(lambda: cancelled.append(True))
        picker.open()
        qtbot.waitExposed(picker)
        if gesture == "esc":
            QTest.keyClick(picker, Qt.Key.Key_Escape)
        else:  # a click without a drag picks nothing
            QTest.mousePress(picker, Qt.MouseButton.LeftButton, pos=QPoint(50, 50))
            QTest.mouseRelease(picker, Qt.MouseButton.LeftButton, pos=QPoint(55, 52))
    assert len(picked) == 1 and len(cancelled) == 2


def test_the_window_shows_a_region_and_says_the_ai_reads_it(qtbot, qloop):
    window = open_window(qtbot, qloop)
    try:
        wait_ready(qtbot, window)
        window.select_region(10, 20, 300, 200)
        assert window.source_combo.currentText().startswith("Screen region 300x200")
        assert window.video_source is not None and window.video_source.region.width() == 300
        assert window.session.engine.view_source == "screen"
        assert window.view_indicator.text() == "AI reads: screen text"
    finally:
        close_window(qtbot, window)
