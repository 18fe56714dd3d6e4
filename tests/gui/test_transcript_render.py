"""The transcript lays out again only what changed: a streaming reply redraws its own
entry, not the whole conversation, and what it shows is what a full render shows."""

from __future__ import annotations

from PySide6.QtGui import QColor, QImage

from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView


def _frame(rgb: tuple[int, int, int]) -> QImage:
    image = QImage(1280, 720, QImage.Format.Format_RGB32)
    image.fill(QColor(*rgb))
    return image


def _conversation(turns: int, image: QImage) -> list[TranscriptEntry]:
    entries = [
        TranscriptEntry(user_text=f"Question {i}?", reply_text=f"Answer **{i}**.\n\n- a\n- b", image=image if i % 2 else None, state="done", metrics="ASR 20 ms")
        for i in range(turns)
    ]  # fmt: skip
    entries[-1].state = "speaking"
    return entries


def _fresh(entries: list[TranscriptEntry], selected: int | None) -> TranscriptView:
    view = TranscriptView()
    view.resize(500, 900)
    view.entries, view.selected_index = list(entries), selected
    view.render_now()
    return view


def _pixels(view: TranscriptView) -> QImage:
    return view.viewport().grab().toImage()


def test_a_streaming_reply_redraws_only_its_own_entry(qtbot):
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(500, 900)
    view.entries = _conversation(12, _frame((30, 60, 90)))
    view.render_now()
    previous_ends_at = view.document().find("Answer 10.").selectionEnd()  # (markdown: "Answer **10**.")
    changes: list[int] = []
    view.document().contentsChange.connect(lambda position, _removed, _added: changes.append(position))
    for _ in range(3):
        view.entries[-1].reply_text += " more words"
        view.render_now()
    # every change is after the turn before: the other eleven entries were not laid out again
    assert previous_ends_at > 0 and changes and min(changes) > previous_ends_at, (changes, previous_ends_at)
    fresh = _fresh(view.entries, None)
    qtbot.addWidget(fresh)
    assert view.toPlainText() == fresh.toPlainText()


def test_what_it_shows_after_many_updates_is_what_a_full_render_shows(qtbot):
    blue, red = _frame((30, 60, 90)), _frame((200, 40, 40))
    view = TranscriptView()
    qtbot.addWidget(view)
    view.resize(500, 900)
    view.show()
    view.entries = _conversation(4, blue)
    view.render_now()
    view.entries[-1].reply_text += " and more"
    view.render_now()
    view.selected_index = 1  # a reply in the middle clicked: its colour changes
    view.render_now()
    view.entries.pop()  # a turn that left nothing
    view.render_now()
    view.entries = _conversation(3, red)  # another conversation, other pictures at the same places
    view.selected_index = None
    view.render_now()
    fresh = _fresh(view.entries, None)
    qtbot.addWidget(fresh)
    fresh.show()
    qtbot.wait(50)
    assert view.toPlainText() == fresh.toPlainText()
    assert _pixels(view) == _pixels(fresh)  # red thumbnails, not the blue ones shown before
