"""LLM-side faults as the window shows them (real offscreen window, real engine).

* The chat server (llama-cpp-python's, on loopback) is SIGKILLed in the middle of a
  reply: the status bar shows one line, the transcript entry keeps the partial reply
  marked interrupted with the error, and the next message works once it is back, in
  the same window.
* A slow endpoint (first token after 20 s): the transcript says the model is being
  waited for, and Stop ends the turn at once and hangs up the stream.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_app.config import Settings
from tests.gui.helpers import close_window, last_entry, open_window, wait_ready, wait_turn_finished
from tests.llama_server import MODEL_NAME, LlamaServer, llama_server_running
from tests.openai_server import serve_in_thread
from tests.slow_chat_server import SlowChatServer

LONG_QUESTION = "Count from one to one hundred in words, separated by commas."


def _settings(base_url: str, model: str = MODEL_NAME, max_tokens: int = 400) -> Settings:
    return Settings(llm_provider="openai", llm_base_url=base_url, llm_model=model, llm_max_tokens=max_tokens, llm_temperature=0.0, smart_turn=False)


def _type(qtbot, window, text: str) -> None:
    box = window.talk_bar.input
    box.setFocus()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server_running(tmp_path_factory.mktemp("llama-server") / "server.log") as server:
        yield server


def test_window_survives_the_server_killed_mid_reply(qtbot, qloop, llama_server: LlamaServer) -> None:
    window = open_window(qtbot, qloop, settings=_settings(llama_server.base_url))
    try:
        wait_ready(qtbot, window)
        _type(qtbot, window, LONG_QUESTION)
        qtbot.waitUntil(lambda: last_entry(window) is not None and len(last_entry(window).reply_text) >= 30, timeout=120_000)
        llama_server.kill()
        wait_turn_finished(qtbot, window, 1)
        entry = last_entry(window)
        line = f"the chat endpoint at {llama_server.base_url} closed the connection in the middle of the reply; the reply is cut short"
        assert entry.state == "interrupted" and entry.error == line
        assert window.statusBar().currentMessage() == f"Error: {line}"
        shown = window.transcript.plain_text()
        assert "[interrupted]" in shown and f"error: {line}" in shown
        engine = window.session.engine
        [stored] = engine.store.load(engine.conversation.id).turns
        assert stored.reply_text == entry.reply_text and stored.interrupted and stored.error == line

        llama_server.start()
        _type(qtbot, window, "Say hello in one short sentence.")
        wait_turn_finished(qtbot, window, 2)
        again = last_entry(window)
        assert again.state == "done" and again.reply_text.strip() and not again.error
        assert window.session.engine is engine  # same window, same engine: no restart
        assert len(engine.store.load(engine.conversation.id).turns) == 2
    finally:
        close_window(qtbot, window)


def test_window_shows_the_wait_and_stop_ends_it_at_once(qtbot, qloop) -> None:
    server = SlowChatServer(delay_s=20.0)
    with serve_in_thread(server):  # type: ignore[arg-type]
        window = open_window(qtbot, qloop, settings=_settings(server.base_url, model="slow-model"))
        try:
            wait_ready(qtbot, window)
            _type(qtbot, window, "Tell me something.")
            qtbot.waitUntil(lambda: "Waiting for the model (openai slow-model)" in window.transcript.plain_text(), timeout=30_000)
            assert "no reply yet after" in window.transcript.plain_text()
            assert window.talk_bar.stop_button.isEnabled()
            stopped_at = time.monotonic()
            window.talk_bar.stop_button.click()
            wait_turn_finished(qtbot, window, 1)
            assert time.monotonic() - stopped_at < 2.0
            qtbot.waitUntil(lambda: bool(server.disconnects), timeout=2_000)
            entry = last_entry(window)
            assert entry.state == "interrupted" and not entry.waiting
            assert "Waiting for the model" not in window.transcript.plain_text()
            qtbot.waitUntil(lambda: not window.talk_bar.stop_button.isEnabled(), timeout=5_000)  # nothing left to stop
        finally:
            close_window(qtbot, window)
    assert server.completed == 0
