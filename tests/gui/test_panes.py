"""Each pane has one job: the transcript is the conversation (markdown rendered, code
collapsed to a title), the reply pane is the current or selected answer (highlighted code
with Copy).

The window's engine talks to a real OpenAI-compatible HTTP server on loopback
(tests/openai_server.py) whose reply holds a code block, so the reply is known.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QTextDocument
from PySide6.QtTest import QTest

from desktop_app.config import Secret, Settings
from tests.gui.helpers import last_entry, ready_window, wait_turn_finished
from tests.openai_server import FakeOpenAIServer, serve_in_thread

KEY = "sk-test-panes-0123456789"
CODE = "\n".join(
    [
        "def fizzbuzz(n):",
        "    for i in range(1, n + 1):",
        "        if i % 15 == 0:",
        '            print("FizzBuzz")',
        "        elif i % 3 == 0:",
        '            print("Fizz")',
        "        elif i % 5 == 0:",
        '            print("Buzz")',
        "        else:",
        "            print(i)",
        "",
        "fizzbuzz(15)",
    ]
)
REPLY = f"Here is **FizzBuzz** in Python:\n\n```python\n{CODE}\n```\n\nIt prints the numbers from 1 to 15."


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    with serve_in_thread(FakeOpenAIServer(KEY, reply=REPLY)) as srv:
        yield srv


def _settings(server: FakeOpenAIServer, key: str = KEY) -> Settings:
    return Settings(llm_provider="openai", llm_base_url=server.base_url, llm_model="gpt-test", llm_api_key=Secret(key), llm_max_tokens=300)


def _click_text(view, text: str) -> None:
    """Click ``text`` in a text browser as a user does (on its first character)."""
    cursor = view.document().find(text, 0, QTextDocument.FindFlag(0))
    assert not cursor.isNull(), f"{text!r} is not shown"
    cursor.setPosition(cursor.selectionStart() + 1)
    rect = view.cursorRect(cursor)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center().x(), rect.center().y()))


def test_transcript_is_the_conversation_and_the_reply_pane_the_answer(qtbot, qloop, server):
    with ready_window(qtbot, qloop, settings=_settings(server)) as window:
        window.send_text("Show me FizzBuzz in Python.")
        wait_turn_finished(qtbot, window, 1)
        window.send_text("And once more, please.")
        wait_turn_finished(qtbot, window, 2)
        first, second = window.transcript.entries
        assert first.reply_text == REPLY and second.state == "done"

        shown = window.transcript.plain_text()
        assert shown.count("python code, 12 lines") == 2  # each reply's code, as one line
        assert "```" not in shown and "fizzbuzz(15)" not in shown and "**" not in shown
        assert "Here is FizzBuzz in Python:" in shown  # markdown rendered, not raw
        assert "<b>FizzBuzz</b>" in window.transcript.toHtml() or "font-weight:700" in window.transcript.toHtml()

        pane = window.reply
        pane.render_now()
        assert pane.markdown == second.reply_text  # the reply pane follows the newest answer
        assert "fizzbuzz(15)" in pane.toPlainText() and "Copy" in pane.toPlainText()
        assert "```" not in pane.toPlainText()
        assert pane.rendered.html.count("color:") > 10  # Pygments' highlighting

        _click_text(window.transcript, "python code, 12 lines")  # the first reply's code title
        assert window.transcript.selected_index == 0
        pane.render_now()
        assert pane.markdown == first.reply_text and pane.verticalScrollBar().value() == 0

        _click_text(pane, "Copy")
        assert QGuiApplication.clipboard().text() == CODE + "\n"


def test_a_refused_key_is_one_error_line(qtbot, qloop, server):
    with ready_window(qtbot, qloop, settings=_settings(server, key="sk-wrong-key-000000000000")) as window:
        window.send_text("Hello?")
        wait_turn_finished(qtbot, window, 1)
        entry = last_entry(window)
        assert entry.state == "error" and entry.error and "sk-wrong" not in entry.error
        assert window.statusBar().currentMessage() == f"Error: {entry.error}"
        shown = window.transcript.plain_text()
        assert shown.count("error:") == 1 and "\nAI " not in shown  # no empty reply
        qtbot.waitUntil(lambda: not window.talk_bar.stop_button.isEnabled(), timeout=10_000)
        assert window.status_label.text().startswith("Ready")
