"""The reply started at the user's pause (core.prepared_reply), on the real engine.

A press with a pause before the release: the turn takes over the reply begun in the
pause, and the model is asked once. More speech after the pause, or a dropped press:
the begun reply is stopped, and nothing of it is shown, played or stored.

Audio is fed in 20 ms blocks at real-time pace (Piper speech, tiny.en, SmolLM2).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from desktop_app.config import Settings
from desktop_app.core.capture import SpeechCapture
from desktop_app.core.events import AudioPacket, Event, ReplyDelta
from desktop_app.core.sinks import CollectingSink
from tests.core.engines import warm_engine
from tests.core.test_capture import FAST, feed, turn_of
from tests.signals import silence
from tests.speech import speech_pcm


class StreamLog:
    """Records every request the engine makes of the model, and when each one ended."""

    def __init__(self, llm) -> None:
        self.prompts: list[str] = []
        self.ended: list[bool] = []
        self._stream = llm.stream
        llm.stream = self.stream

    async def stream(self, messages):
        index = len(self.prompts)
        self.prompts.append(messages[-1]["content"])
        self.ended.append(False)
        try:
            async for delta in self._stream(messages):
                yield delta
        finally:
            self.ended[index] = True


@pytest.fixture
async def engine():
    async with warm_engine(FAST) as engine:
        yield engine


def recorded(engine) -> tuple[list[Event], CollectingSink]:
    events: list[Event] = []
    engine.subscribe(events.append)
    sink = CollectingSink()
    engine.add_sink(sink)
    return events, sink


async def press_and_pause(engine, question: str, pause_s: float = 1.0) -> SpeechCapture:
    """Press, say ``question``, stay silent ``pause_s`` with the key still held."""
    capture = SpeechCapture(engine)
    await feed(capture, silence(0.2))
    assert capture.press()
    await feed(capture, np.concatenate([speech_pcm(question), silence(pause_s)]))
    return capture


async def test_a_pause_before_the_release_begins_the_reply_the_turn_takes_over(engine):
    log = StreamLog(engine.backends.llm)
    events, sink = recorded(engine)
    capture = await press_and_pause(engine, "What is the capital of France?", 1.2)
    # begun in the pause, before the release (a shorter pause inside the question, a
    # plosive's closure, may have begun and dropped one before: then it is not the last)
    begun = len(log.prompts)
    assert begun >= 1 and all(log.ended[: begun - 1]), log.prompts
    turn = await turn_of(capture)
    assert turn is not None and turn.user_text
    assert turn.metrics.reply_prepared_ms is not None and turn.metrics.reply_prepared_ms > 0, turn.metrics
    assert len(log.prompts) == begun and log.prompts[-1].endswith(turn.user_text), log.prompts  # not asked again
    assert turn.reply_text and "".join(e.text for e in events if isinstance(e, ReplyDelta)) == turn.reply_text
    assert sink.audio_ms > 0 and turn.metrics.audio_ms == sink.audio_ms
    assert [t.reply_text for t in engine.conversation.turns] == [turn.reply_text]
    assert "reply begun at the pause" in turn.metrics.summary()


async def test_speech_after_the_pause_stops_the_begun_reply(engine):
    log = StreamLog(engine.backends.llm)
    events, sink = recorded(engine)
    capture = await press_and_pause(engine, "Tell me about Paris.", 1.0)
    begun = len(log.prompts)  # (a pause inside the sentence, "about | Paris", may have begun one too)
    assert begun >= 1 and "paris" in log.prompts[-1].lower(), log.prompts
    begun_on = log.prompts[-1]
    await feed(capture, np.concatenate([speech_pcm("And what about Rome?"), silence(0.3)]))
    assert all(log.ended[:begun]), "the reply begun on the first sentence was not stopped when the user went on"
    turn = await turn_of(capture)
    assert turn is not None and "rome" in turn.user_text.lower(), turn.user_text
    assert log.prompts[-1].endswith(turn.user_text) and log.prompts[-1] != begun_on
    # nothing of the dropped reply went out: every delta and packet is the turn's own
    deltas = [e for e in events if isinstance(e, ReplyDelta)]
    assert {e.turn_id for e in deltas} == {turn.id} and "".join(e.text for e in deltas) == turn.reply_text
    assert {e.turn_id for e in events if isinstance(e, AudioPacket)} == {turn.id}
    assert sink.audio_ms == turn.metrics.audio_ms > 0
    assert len(engine.conversation.turns) == 1


async def test_a_dropped_press_stops_the_begun_reply_and_leaves_nothing(engine):
    log = StreamLog(engine.backends.llm)
    events, sink = recorded(engine)
    capture = await press_and_pause(engine, "What time is it in Tokyo?", 1.0)
    assert len(log.prompts) >= 1, log.prompts
    assert capture.discard()
    for _ in range(100):  # the model stops at its next token
        if all(log.ended):
            break
        await asyncio.sleep(0.02)
    assert all(log.ended)
    await asyncio.sleep(0.3)
    assert not [e for e in events if isinstance(e, (ReplyDelta, AudioPacket))]
    assert sink.audio_ms == 0 and not engine.conversation.turns and engine.current is None


async def test_a_remote_model_is_never_asked_for_a_reply_nobody_asked_for():
    """A remote endpoint would bill a reply that may be thrown away: it is only primed.
    (SmolLM2 stands in for it, told it is not local.)"""
    async with warm_engine(FAST) as engine:
        llm = engine.backends.llm
        llm.runs_locally = False
        log = StreamLog(llm)
        capture = await press_and_pause(engine, "What is the capital of France?", 1.0)
        assert log.prompts == []
        turn = await turn_of(capture)
        assert turn is not None and turn.metrics.reply_prepared_ms is None and len(log.prompts) == 1


async def test_the_setting_turns_it_off():
    async with warm_engine(FAST.updated({"prepare_replies": False})) as engine:
        log = StreamLog(engine.backends.llm)
        capture = await press_and_pause(engine, "What is the capital of France?", 1.0)
        assert log.prompts == []
        turn = await turn_of(capture)
        assert turn is not None and turn.metrics.reply_prepared_ms is None


async def test_the_view_read_again_with_the_same_text_keeps_the_begun_reply(engine):
    """While the user pauses, the view is read again (hands-free reads a camera as a reply
    ends; a camera's frames always differ) and says the same: the begun reply goes on,
    and the turn takes it over. Only a changed note would start it again."""
    from tests.pictures import error_screen, jpeg

    frame = jpeg(error_screen())
    engine.look(frame)
    for _ in range(3000):  # OCR: 1-5 s on a busy 2-core machine
        if engine.last_reading is not None:
            break
        await asyncio.sleep(0.02)
    first = engine.last_reading
    assert first is not None and first.text
    log = StreamLog(engine.backends.llm)
    capture = SpeechCapture(engine, frame_source=lambda: frame)
    await feed(capture, silence(0.2))
    assert capture.press()
    await feed(capture, np.concatenate([speech_pcm("What does the screen say?"), silence(1.2)]))
    begun = len(log.prompts)  # (more than one when a pause inside the question began one too)
    assert begun >= 1 and all(log.ended[: begun - 1]), log.prompts
    engine.glance(jpeg(error_screen(), quality=84))  # the same text, other bytes
    for _ in range(3000):
        if engine.last_reading is not first:
            break
        await asyncio.sleep(0.02)
    assert engine.last_reading is not first and engine.last_reading.text == first.text
    turn = await turn_of(capture)
    assert turn is not None and turn.view is not None and turn.view.text == first.text
    assert turn.metrics.reply_prepared_ms is not None and len(log.prompts) == begun, log.prompts
