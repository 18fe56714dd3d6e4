"""The window's states agree with the engine, and the transcript shows only what happened.

A real window (real engine: whisper tiny.en, SmolLM2, Piper) is driven through every
transition a user causes: press/release, a press with no speech, a tap, Esc while
held and while replying (focus in the text box, the transcript, the reply pane), an
error from an OpenAI-compatible endpoint, and hands-free with barge-in. Every state the
window renders is recorded as the user sees it (talk button, status line, Stop), and
each must agree with itself and with the engine.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop_app.config import Settings
from desktop_app.core.events import ReplyDelta, TurnCancelled
from desktop_app.core.sinks import PacedSink
from desktop_app.gui.talk_state import BUSY, STATUS, Phase
from desktop_app.gui.transcript_view import EMPTY
from tests.gui.helpers import FAST, TURN_MS, LiveMicrophone, last_entry, ready_window, run, say_and_wait, wait_turn_finished
from tests.signals import silence
from tests.speech import speech_pcm

STORY = "Tell me a long story about a dragon who learns to cook. Use many paragraphs."


@dataclass(frozen=True)
class Screen:
    """What the user sees of the talk state at one moment."""

    phase: Phase
    talk: str
    talk_enabled: bool
    status: str
    stop: bool
    framed: bool  # the red recording frame on the video


def _screen(window) -> Screen:
    bar = window.talk_bar
    return Screen(
        window.talk_state.state.phase,
        bar.talk_button.text().strip(),
        bar.talk_button.isEnabled(),
        window.status_label.text(),
        bar.stop_button.isEnabled(),
        window.video.recording,
    )


class Recorder:
    """Every state the window rendered, as shown (recorded right after it rendered)."""

    def __init__(self, window) -> None:
        self.window = window
        self.screens: list[Screen] = [_screen(window)]
        window.talk_state.changed.connect(lambda _state: self.screens.append(_screen(window)))

    def phases(self) -> list[Phase]:
        return [s.phase for s in self.screens]

    def assert_consistent(self) -> None:
        for s in self.screens:
            assert s.stop == (s.phase in BUSY), s
            assert s.framed == (s.phase in (Phase.RECORDING, Phase.HEARING)), s
            if s.phase in STATUS:
                assert s.status == STATUS[s.phase], s
            if s.phase in (Phase.READY, Phase.LISTENING):
                assert not s.stop and "..." not in s.status.replace("Listening...", ""), s


def _in_order(seen: list[Phase], wanted: list[Phase]) -> bool:
    it = iter(seen)
    return all(any(p == w for p in it) for w in wanted)


def _idle(window) -> bool:
    return window.talk_state.state.phase in (Phase.READY, Phase.LISTENING) and not window.session.engine.speaking


def _ai_blocks(window) -> int:
    return window.transcript.plain_text().count("\nAI ") + window.transcript.plain_text().startswith("AI ")


def test_push_to_talk_turn_through_every_state(qtbot, qloop):
    mic = LiveMicrophone()
    with ready_window(qtbot, qloop, mic) as window:
        speaker = PacedSink()  # plays in real time: the reply is still heard after the turn is over
        speaker.start()
        window.session.engine.add_sink(speaker)
        rec = Recorder(window)
        ready = _screen(window)
        assert ready.phase == Phase.READY and ready.talk == "Hold to talk" and ready.talk_enabled
        assert ready.status.startswith("Ready") and not ready.stop

        window.transcript.setFocus()
        QTest.keyPress(window.transcript, Qt.Key.Key_Space)
        held = _screen(window)
        assert held == Screen(Phase.RECORDING, "Listening...", True, "Listening... release to send", True, True)
        say_and_wait(qtbot, mic, speech_pcm("What is the capital of France?"))
        QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
        assert _screen(window).phase == Phase.TRANSCRIBING and _screen(window).stop
        wait_turn_finished(qtbot, window, 1)
        qtbot.waitUntil(lambda: _idle(window), timeout=TURN_MS)
        assert _in_order(rec.phases(), [Phase.RECORDING, Phase.TRANSCRIBING, Phase.THINKING, Phase.SPEAKING, Phase.READY])
        rec.assert_consistent()
        done = _screen(window)
        assert done.status.startswith("Ready") and not done.stop and done.talk == "Hold to talk"
        entry = last_entry(window)
        assert len(window.transcript.entries) == 1 and entry.state == "done" and "france" in entry.user_text.lower()
        assert "thinking" not in window.transcript.plain_text() and "listening" not in window.transcript.plain_text()
        run(qtbot, speaker.aclose())


def test_presses_that_yield_nothing_leave_one_fading_note(qtbot, qloop):
    mic = LiveMicrophone()
    with ready_window(qtbot, qloop, mic) as window:
        rec = Recorder(window)
        bar = window.statusBar()
        window.transcript.setFocus()
        for _ in range(3):  # three presses of silence: no phantom entries pile up
            QTest.keyPress(window.transcript, Qt.Key.Key_Space)
            say_and_wait(qtbot, mic, silence(1.0))
            QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
            qtbot.waitUntil(lambda: "No speech heard" in bar.currentMessage(), timeout=60_000)
            qtbot.waitUntil(lambda: _idle(window), timeout=10_000)
            assert window.transcript.entries == [] and window.transcript.plain_text().strip() in EMPTY_TEXT
            bar.clearMessage()

        QTest.keyPress(window.transcript, Qt.Key.Key_Space)  # a tap
        QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
        # dropped as too short; on a loaded machine a backlog of blocks in the release's tail
        # can make it long enough to be transcribed, and heard as nothing: either way one note
        qtbot.waitUntil(lambda: bar.currentMessage().startswith(("Too short", "No speech heard")), timeout=60_000)
        qtbot.waitUntil(lambda: _idle(window), timeout=10_000)
        assert window.transcript.entries == []
        QTest.keyPress(window.transcript, Qt.Key.Key_Space)  # a press dropped with Esc
        say_and_wait(qtbot, mic, speech_pcm("Never mind."))
        QTest.keyClick(window.transcript, Qt.Key.Key_Escape)
        assert bar.currentMessage() == "Recording discarded"  # one note: it replaced the last
        assert bar.note_label.text().count("\u2014") == 1
        qtbot.waitUntil(lambda: bar.currentMessage() == "", timeout=10_000)  # it fades away
        assert window.transcript.entries == [] and _screen(window).phase == Phase.READY
        rec.assert_consistent()
        assert not _screen(window).stop and _screen(window).status.startswith("Ready")


EMPTY_TEXT = "Hold Space (or the Talk button) and speak, or type a message below.\nEsc stops the reply."
assert "Esc stops the reply" in EMPTY


@pytest.mark.parametrize("focus", ["text box", "transcript", "reply pane"])
def test_escape_stops_the_reply_from_anywhere(qtbot, qloop, focus):
    with ready_window(qtbot, qloop) as window:
        window.session.engine.backends.llm._max_tokens = 400
        rec = Recorder(window)
        events = []
        window.session.event.connect(events.append)
        window.send_text(STORY)
        qtbot.waitUntil(lambda: last_entry(window) is not None and len(last_entry(window).reply_text) > 20, timeout=120_000)
        speaking = _screen(window)
        assert speaking.phase == Phase.SPEAKING and speaking.stop and speaking.status == "Speaking \u00b7 Esc stops"
        widget = {"text box": window.talk_bar.input, "transcript": window.transcript, "reply pane": window.reply}[focus]
        widget.setFocus()
        entry = last_entry(window)
        QTest.keyClick(widget, Qt.Key.Key_Escape)
        at_cancel, delivered = len(events), entry.reply_text
        qtbot.waitUntil(lambda: _idle(window), timeout=10_000)
        qtbot.wait(500)  # give stray worker threads a chance to misbehave
        assert any(isinstance(e, TurnCancelled) for e in events[at_cancel:])
        assert not [e for e in events[at_cancel:] if isinstance(e, ReplyDelta)]
        assert entry.state == "interrupted" and entry.reply_text == delivered and delivered.strip()
        stored = window.session.engine.store.load(window.session.engine.conversation.id).turns[-1]
        assert stored.interrupted and stored.reply_text == delivered
        assert "[interrupted]" in window.transcript.plain_text() and _ai_blocks(window) == 1
        assert window.statusBar().currentMessage() == "Stopped"
        rec.assert_consistent()
        assert not _screen(window).stop and _screen(window).status.startswith("Ready")


def test_stopped_before_any_reply_leaves_no_empty_reply(qtbot, qloop):
    # No reply begun at the pause: with one, its voice can already play at the release
    # (CI: "speaking" when Esc came), and this test is about a stop before any reply.
    mic = LiveMicrophone()
    with ready_window(qtbot, qloop, mic, settings=FAST.updated({"prepare_replies": False})) as window:
        window.transcript.setFocus()
        QTest.keyPress(window.transcript, Qt.Key.Key_Space)
        say_and_wait(qtbot, mic, speech_pcm("What is the capital of Spain?"))
        QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: window.session.busy, timeout=10_000)  # submitted: transcribing or thinking
        assert _screen(window).phase in (Phase.TRANSCRIBING, Phase.THINKING)
        QTest.keyClick(window.transcript, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: _idle(window) and not window.session.busy, timeout=30_000)
        qtbot.wait(200)
        shown = window.transcript.plain_text()
        for entry in window.transcript.entries:  # the user's words may stay; an empty reply never does
            assert entry.user_text.strip()
            if not entry.reply_text.strip():
                assert entry.state == "interrupted" and "Stopped before the reply." in shown
        assert _ai_blocks(window) == sum(1 for e in window.transcript.entries if e.reply_text.strip())
        assert not _screen(window).stop


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_shows_one_error_and_returns_to_ready(qtbot, qloop):
    port = _closed_port()  # nothing listens there: connection refused
    settings = Settings(llm_provider="openai", llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="gpt-test", llm_max_tokens=50)
    with ready_window(qtbot, qloop, settings=settings) as window:
        rec = Recorder(window)
        window.send_text("Hello?")
        wait_turn_finished(qtbot, window, 1)
        qtbot.waitUntil(lambda: _idle(window), timeout=30_000)
        entry = last_entry(window)
        assert entry.state == "error" and f"127.0.0.1:{port}" in entry.error
        assert window.statusBar().currentMessage() == f"Error: {entry.error}"
        shown = window.transcript.plain_text()
        assert shown.count("error:") == 1 and "Hello?" in shown and _ai_blocks(window) == 0  # no empty reply
        assert _in_order(rec.phases(), [Phase.THINKING, Phase.READY])
        rec.assert_consistent()
        assert not _screen(window).stop and _screen(window).status.startswith("Ready")


def test_hands_free_barge_in_on_screen(qtbot, qloop):
    mic = LiveMicrophone()
    # The view is not read: with the test pattern's text (a clock) in the prompt the 135M
    # model sometimes answers in one short line, all played before the user talks over it.
    with ready_window(qtbot, qloop, mic, settings=FAST.updated({"read_text_in_view": False})) as window:
        speaker = PacedSink()
        speaker.start()
        window.session.engine.add_sink(speaker)
        rec = Recorder(window)
        assert window.set_hands_free(True)
        qtbot.waitUntil(lambda: _screen(window).phase == Phase.LISTENING, timeout=5000)
        listening = _screen(window)
        assert listening.talk == "Listening..." and not listening.talk_enabled and not listening.stop
        assert listening.status == "Hands-free \u00b7 listening"

        mic.say(np.concatenate([speech_pcm("Tell me a long story about a lighthouse keeper and the sea."), silence(1.0)]))
        qtbot.waitUntil(lambda: _screen(window).phase == Phase.SPEAKING, timeout=TURN_MS)
        replying = _screen(window)
        assert replying.talk == "Replying \u00b7 talk to interrupt" and replying.stop
        qtbot.waitUntil(lambda: speaker.played is not None and speaker.played.sequence >= 100, timeout=TURN_MS)
        mic.say(np.concatenate([speech_pcm("Stop. What is the capital of Italy?"), silence(1.5)]))
        qtbot.waitUntil(lambda: len(window.hands_free.barge_ins) == 1, timeout=20_000)
        wait_turn_finished(qtbot, window, 2)
        qtbot.waitUntil(lambda: _idle(window), timeout=TURN_MS)
        seen = rec.phases()
        assert _in_order(seen, [Phase.LISTENING, Phase.HEARING, Phase.SPEAKING, Phase.HEARING, Phase.SPEAKING, Phase.LISTENING])
        assert {"Hearing you...", "Replying \u00b7 talk to interrupt", "Listening..."} <= {s.talk for s in rec.screens}
        rec.assert_consistent()
        first, second = window.transcript.entries
        assert first.state == "interrupted" and first.reply_text.strip() and second.state == "done"
        assert window.transcript.plain_text().count("[interrupted]") == 1 and _ai_blocks(window) == 2
        end = _screen(window)
        assert end.talk == "Listening..." and not end.stop
        run(qtbot, speaker.aclose())
