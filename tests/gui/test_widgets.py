"""Widgets on their own: reply pane and copy links, video sources, layout memory."""

from __future__ import annotations

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication, QImage

from desktop_app.gui.markdown_render import render_markdown
from desktop_app.gui.markdown_view import MarkdownView
from desktop_app.media import capture
from tests.gui.helpers import close_window, open_window

REPLY = """# Adding numbers

Here is a function:

```python
def add(a, b):
    return a + b
```

| x | y |
|---|---|
| 1 | 2 |

- one
- two
"""


def test_markdown_renders_highlighted_code_tables_and_escapes_html():
    rendered = render_markdown(REPLY + "\n<script>alert(1)</script>\n")
    assert rendered.code_blocks == ["def add(a, b):\n    return a + b\n"]
    assert 'href="copy:0"' in rendered.html and "<h1>" in rendered.html and "<table" in rendered.html
    assert "<span style=" in rendered.html  # Pygments colours inline
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html


def test_copy_link_puts_the_code_block_on_the_clipboard(qtbot, qloop):
    view = MarkdownView()
    qtbot.addWidget(view)
    view.set_markdown(REPLY)
    view.render_now()
    text = view.toPlainText()
    assert "Adding numbers" in text and "return a + b" in text and "Copy" in text
    with qtbot.waitSignal(view.copied, timeout=2000):
        view.anchorClicked.emit(QUrl("copy:0"))
    assert QGuiApplication.clipboard().text() == "def add(a, b):\n    return a + b\n"


def test_test_pattern_makes_frames_that_encode_to_jpeg(qtbot, qloop):
    source = capture.TestPatternSource()
    source.start()
    try:
        qtbot.waitUntil(lambda: source.frames >= 3, timeout=10_000)
        jpeg = capture.frame_jpeg(source.current_image(), max_side=512)
        assert jpeg[:2] == b"\xff\xd8"
        image = QImage.fromData(jpeg, "JPEG")
        assert max(image.width(), image.height()) == 512
    finally:
        source.stop()


def test_source_switch_to_the_test_pattern_and_back(qtbot, qloop):
    window = open_window(qtbot, qloop, video="off", start=False)
    try:
        assert window.video_source is None and window.source_switcher.frame_for_turn() is None
        window.select_source_kind("pattern")
        pattern = window.video_source
        qtbot.waitUntil(lambda: pattern.frames >= 2, timeout=10_000)
        assert window.source_combo.currentText() == "Test pattern"
        assert window.source_switcher.frame_for_turn()[:2] == b"\xff\xd8"
        window.select_source_kind("screen")
        screen = window.video_source
        assert screen is not pattern and screen.name.startswith("Screen")
        qtbot.waitUntil(lambda: screen.frames >= 1, timeout=10_000)
        window.select_source_kind("pattern")
        again = window.video_source
        qtbot.waitUntil(lambda: again.frames >= 2, timeout=10_000)
        grabbed = window.video.grab().toImage()
        assert grabbed.width() > 100 and grabbed.pixelColor(grabbed.width() // 2, grabbed.height() // 2).isValid()
        window.select_source_kind("off")
        assert window.video_source is None
    finally:
        close_window(qtbot, window)


def test_layout_and_source_are_remembered(qtbot, qloop):
    window = open_window(qtbot, qloop, video="auto", start=False)
    window.resize(760, 640)  # fits the offscreen screen, so the geometry restores unclamped
    qtbot.waitUntil(lambda: window.width() == 760)
    window.main_splitter.setSizes([300, 460])
    window.select_source_kind("off")
    sizes, size = window.main_splitter.sizes(), window.size()
    close_window(qtbot, window)
    again = open_window(qtbot, qloop, video="auto", start=False)
    try:
        assert again.source_combo.currentText() == "No video"
        assert again.size() == size
        assert again.main_splitter.sizes() == sizes
    finally:
        close_window(qtbot, again)
