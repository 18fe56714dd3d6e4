"""The reply pane: one reply rendered as markdown, code blocks with a Copy link."""

from __future__ import annotations

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop_app.gui.markdown_render import RenderedMarkdown, render_markdown

PLACEHOLDER = (
    '<div style="color:#7d8590; margin-top:24px;" align="center">'
    "The reply appears here as it streams: headings, lists, tables and code.</div>"
)


class MarkdownView(QTextBrowser):
    copied = Signal(int)  # index of the code block copied to the clipboard

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("markdownView")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.markdown = ""
        self.rendered = RenderedMarkdown("", [])
        self._pending = False
        self._scroll_top = False
        self.setHtml(PLACEHOLDER)

    def set_markdown(self, text: str, from_top: bool = False) -> None:
        """Show ``text``; rendering is coalesced so a fast stream costs one render per tick.

        A streaming reply keeps the end in view; ``from_top`` shows a finished one (a
        saved or selected reply) from its beginning.
        """
        self.markdown = text
        self._scroll_top = self._scroll_top or from_top
        if not self._pending:
            self._pending = True
            QTimer.singleShot(40, self._render)

    def render_now(self) -> None:
        self._pending = False
        self._render()

    def _render(self) -> None:
        self._pending = False
        if not self.markdown.strip():
            self.rendered = RenderedMarkdown("", [])
            self.setHtml(PLACEHOLDER)
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        position = bar.value()
        self.rendered = render_markdown(self.markdown)
        self.setHtml(self.rendered.html)
        if self._scroll_top:
            self._scroll_top = False
            bar.setValue(0)
        else:
            bar.setValue(bar.maximum() if at_bottom else position)

    def copy_block(self, index: int) -> bool:
        if not 0 <= index < len(self.rendered.code_blocks):
            return False
        QGuiApplication.clipboard().setText(self.rendered.code_blocks[index])
        self.copied.emit(index)
        return True

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "copy":
            try:
                self.copy_block(int(url.path() or url.toString().split(":", 1)[1]))
            except ValueError:
                pass
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
