"""The transcript: user and assistant turns with time, thumbnail, latency and status."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QImage, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from desktop_app.gui.markdown_render import render_markdown

THUMB_WIDTH = 160

EMPTY = (
    '<div style="color:#7d8590; margin-top:24px;" align="center">'
    "Hold <b>Space</b> (or the Talk button) and speak, or type a message below.<br>"
    "Esc stops the reply.</div>"
)


@dataclass
class TranscriptEntry:
    """One turn as the user sees it."""

    user_text: str = ""
    reply_text: str = ""
    time: datetime = field(default_factory=datetime.now)
    image: QImage | None = None
    metrics: str = ""  # latency figures, one line
    state: str = "listening"  # listening, thinking, speaking, done, interrupted, error, no-speech
    error: str = ""
    turn_id: str = ""
    waiting: str = ""  # "Waiting for the model (...): no reply yet after 5 s" while it is late

    @property
    def finished(self) -> bool:
        return self.state in ("done", "interrupted", "error", "no-speech")


def _paragraphs(text: str) -> str:
    return html.escape(text.strip()).replace("\n", "<br>")


@functools.lru_cache(maxsize=256)
def _reply_html(text: str, index: int) -> str:
    """A reply as the conversation shows it: rendered markdown, code collapsed to its title
    (a link that shows the reply, code and Copy, in the reply pane). Cached: while a reply
    streams only its own entry renders again."""
    return render_markdown(text, collapse_code=True, link=f"turn:{index}").html


class TranscriptView(QTextBrowser):
    selected = Signal(int)  # index of the entry whose reply was clicked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptView")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.entries: list[TranscriptEntry] = []
        self.selected_index: int | None = None
        self._pending = False
        # scaled thumbnails by source image: every render asks for each one again, and a
        # smooth scaling of a 1280x720 frame per entry per render took the main thread's
        # CPU while the reply's first words were being generated
        self._thumbs: dict[int, tuple[QImage, QImage]] = {}
        # what the document shows: each entry's (html, image) and where it starts. A
        # streaming reply changes only the last entry, and only that one is laid out again
        # (the whole transcript took 28 ms a render at 16 entries, 79 ms at 100, up to 20
        # times a second on the main thread while the model was writing).
        self._shown: list[tuple[str, QImage | None]] = []
        self._starts: list[int] = []
        self.setHtml(EMPTY)

    # ---- the model ------------------------------------------------------------------

    def select(self, index: int | None) -> None:
        self.selected_index = index
        self.refresh()

    def refresh(self) -> None:
        """Re-render soon (coalesced: many updates in one tick cost one render)."""
        if not self._pending:
            self._pending = True
            QTimer.singleShot(50, self.render_now)

    # ---- rendering ------------------------------------------------------------------

    def loadResource(self, kind: int, name: QUrl):  # noqa: N802 (Qt override)
        if name.scheme() == "thumb":
            try:
                entry = self.entries[int(name.path())]
            except (ValueError, IndexError):
                return None
            if entry.image is None:
                return None
            return self._thumb(entry)
        return super().loadResource(kind, name)

    def _thumb(self, entry: TranscriptEntry) -> QImage | None:
        if entry.image is None:
            return None
        cached = self._thumbs.get(id(entry))
        if cached is None or cached[0] is not entry.image:
            cached = (entry.image, entry.image.scaledToWidth(THUMB_WIDTH, Qt.TransformationMode.SmoothTransformation))
            self._thumbs[id(entry)] = cached
        return cached[1]

    def render_now(self) -> None:
        self._pending = False
        if not self.entries:
            self._shown, self._starts = [], []
            self.setHtml(EMPTY)
            return
        bar = self.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum() - 4
        position = bar.value()
        wanted = [(self._entry_html(i, e), e.image) for i, e in enumerate(self.entries)]
        same = 0  # entries shown as they are now, from the top
        while same < min(len(wanted), len(self._shown)) and wanted[same][0] == self._shown[same][0] and wanted[same][1] is self._shown[same][1]:
            same += 1
        if same == len(wanted) == len(self._shown):
            return
        cursor = QTextCursor(self.document())
        if same == 0:
            self.document().clear()
            live = {id(e) for e in self.entries}
            self._thumbs = {key: value for key, value in self._thumbs.items() if key in live}
            self._starts = []
        else:  # keep the unchanged entries, lay out the rest again
            cursor.setPosition(self._starts[same])
            cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
            cursor.removeSelectedText()
            del self._starts[same:]
        for index in range(same, len(wanted)):
            thumb = self._thumb(self.entries[index])
            if thumb is not None:  # (an index may have shown another picture before)
                self.document().addResource(QTextDocument.ResourceType.ImageResource.value, QUrl(f"thumb:{index}"), thumb)
            self._starts.append(cursor.position())
            cursor.insertHtml(wanted[index][0])
        self._shown = wanted
        bar.setValue(bar.maximum() if at_bottom else position)

    def _entry_html(self, index: int, e: TranscriptEntry) -> str:
        stamp = e.time.strftime("%H:%M")
        user = _paragraphs(e.user_text) if e.user_text else '<span style="color:#7d8590;"><i>listening...</i></span>'
        thumb = f'<br><img src="thumb:{index}" width="{THUMB_WIDTH}">' if e.image is not None else ""
        out = [
            '<table width="100%" cellspacing="0" cellpadding="8" style="margin-bottom:6px;">',
            f'<tr><td bgcolor="#1f2a3a"><span style="color:#79c0ff;"><b>You</b></span>'
            f' <span style="color:#7d8590;">{stamp}</span><br><span style="color:#e6e9ef;">{user}</span>{thumb}</td></tr>',
            "</table>",
        ]
        if e.state == "no-speech":
            out.append('<p style="color:#7d8590; margin-left:8px;"><i>No speech heard.</i></p>')
            return "".join(out)
        if e.finished and not e.reply_text.strip():  # stopped or failed before a reply: no empty one
            if e.error:
                note = f'<span style="color:#ff7b72;">error: {html.escape(e.error)}</span>'
            elif e.state == "interrupted":
                note = "<i>Stopped before the reply.</i>"
            else:
                note = "<i>No reply.</i>"
            out.append(f'<p style="color:#7d8590; margin-left:8px; margin-bottom:10px;">{note}</p>')
            return "".join(out)
        selected = index == self.selected_index
        bg = "#2a2438" if selected else "#222730"
        if e.reply_text.strip():
            reply = _reply_html(e.reply_text, index)
        elif e.state in ("thinking", "listening") and e.waiting:
            reply = f'<span style="color:#d29922;"><i>{html.escape(e.waiting)}...</i></span>'
        elif e.state in ("thinking", "listening"):
            reply = '<span style="color:#7d8590;"><i>thinking...</i></span>'
        else:
            reply = ""
        badges = []
        if e.state == "interrupted":
            badges.append('<span style="color:#ffa657;"><b>[interrupted]</b></span>')
        if e.state == "speaking":
            badges.append('<span style="color:#7ee787;">speaking...</span>')
        if e.error:
            badges.append(f'<span style="color:#ff7b72;">error: {html.escape(e.error)}</span>')
        footer = " &nbsp; ".join(badges)
        metrics = f'<br><span style="color:#7d8590; font-size:small;">{html.escape(e.metrics)}</span>' if e.metrics else ""
        out += [
            '<table width="100%" cellspacing="0" cellpadding="8" style="margin-bottom:10px;">',
            f'<tr><td bgcolor="{bg}"><a href="turn:{index}" style="color:#d2a8ff; text-decoration:none;"><b>AI</b></a>'
            f' <span style="color:#7d8590;">{stamp}</span>{reply if e.reply_text.strip() else "<br>" + reply}'
            f'{"<br>" + footer if footer else ""}{metrics}</td></tr>',
            "</table>",
        ]
        return "".join(out)

    def _on_anchor(self, url: QUrl) -> None:
        if url.scheme() == "turn":
            try:
                index = int(url.path())
            except ValueError:
                return
            if 0 <= index < len(self.entries):
                self.select(index)
                self.selected.emit(index)

    def plain_text(self) -> str:
        """What the pane shows, as text (for tests and accessibility checks)."""
        self.render_now()
        return self.toPlainText()


