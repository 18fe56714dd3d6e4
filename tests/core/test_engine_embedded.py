"""Whole turns through the real engine on embedded models (SmolLM2 for speed)."""

import asyncio

import numpy as np
import pytest

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.events import AudioPacket, NoSpeech, ReplyDelta, Transcript, TurnCancelled, TurnFinished
from desktop_app.core.sinks import CollectingSink
from desktop_app.core.turn import TurnInput
from tests.core.engines import record_primes
from tests.speech import speech_pcm, word_error_rate

QUESTION = "What is the capital of France?"
FAST = Settings(llm_provider="embedded", llm_model="smollm2-135m", llm_max_tokens=200)


@pytest.fixture
async def engine():
    engine = make_engine(FAST, AppPaths.from_env())
    await engine.warm_up()
    yield engine
    await engine.aclose()


def record(engine):
    events = []
    engine.subscribe(events.append)
    return events


async def test_spoken_question_gets_a_spoken_reply_and_is_stored(engine):
    sink = CollectingSink()
    engine.add_sink(sink)
    events = record(engine)
    turn = await engine.run_turn(TurnInput(audio=speech_pcm(QUESTION)))
    transcript = next(e for e in events if isinstance(e, Transcript))
    assert word_error_rate(QUESTION, transcript.text) <= 0.34, transcript.text  # 2 of 6 words: CPUs differ
    reply = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    assert reply.strip() and reply == turn.reply_text
    assert len(sink.packets) > 10 and [p.sequence for p in sink.packets] == list(range(len(sink.packets)))
    m = turn.metrics
    assert m.asr_ms > 0 and m.llm_ttft_ms > 0 and m.first_chunk_ms >= m.llm_ttft_ms
    assert m.tts_first_audio_ms > 0 and m.v2v_ms >= m.asr_ms
    assert isinstance(events[-1], TurnFinished) and not events[-1].interrupted
    stored = engine.store.load(engine.conversation.id)
    assert stored.turns[0].user_text == transcript.text and stored.turns[0].reply_text == reply
    assert stored.turns[0].metrics["v2v_ms"] == pytest.approx(m.v2v_ms, abs=0.1)


async def test_live_utterance_turn_primes_the_llm_while_the_user_talks(engine):
    primed = record_primes(engine)
    utterance = engine.start_utterance()
    pcm = np.concatenate([speech_pcm(QUESTION), np.zeros(8000, dtype=np.float32)])
    for offset in range(0, pcm.size, 320):
        utterance.feed(pcm[offset : offset + 320])
        await asyncio.sleep(0.02)
    turn = await engine.run_turn(TurnInput(utterance=utterance))
    assert word_error_rate(QUESTION, turn.user_text) <= 0.34, turn.user_text
    # nothing in view: the primed prompt is the words alone, as the turn's is
    assert turn.view is None
    spoken = [p for p in primed if p]
    assert spoken and word_error_rate(QUESTION, spoken[-1]) <= 0.34, primed
    assert turn.reply_text.strip() and turn.metrics.asr_ms is not None
    # once the reply is written, the conversation so far is evaluated for the next turn
    for _ in range(100):
        if primed[-1] == "":
            break
        await asyncio.sleep(0.02)
    assert primed[-1] == "", primed


async def test_cancel_mid_reply_silences_and_stores_the_delivered_part(engine):
    sink = CollectingSink()
    engine.add_sink(sink)
    events = record(engine)
    engine.backends.llm._max_tokens = 400
    turn = engine.submit(TurnInput(text="Tell me a long story about a dragon who learns to cook. Use many paragraphs."))
    while not any(isinstance(e, AudioPacket) for e in events):
        await asyncio.sleep(0.01)
    engine.cancel()
    at_cancel = len(events)
    delivered = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    packets_at_cancel = len(sink.packets)
    await turn.wait()
    await asyncio.sleep(0.5)  # give stray worker threads a chance to misbehave
    after = events[at_cancel:]
    assert not [e for e in after if isinstance(e, (AudioPacket, ReplyDelta))]
    assert any(isinstance(e, TurnCancelled) for e in after)
    assert len(sink.packets) == packets_at_cancel and sink.flushes == 1
    stored = engine.store.load(engine.conversation.id).turns[-1]
    assert stored.interrupted and stored.reply_text == delivered and delivered.strip()
    # the engine is ready for the next turn at once
    next_turn = await engine.run_turn(TurnInput(text="Say hello."))
    assert next_turn.reply_text.strip() and not next_turn.interrupted


async def test_silent_clip_makes_no_turn(engine):
    events = record(engine)
    rng = np.random.default_rng(1)
    quiet = (rng.standard_normal(16000 * 2) * 0.001).astype(np.float32)
    turn = await engine.run_turn(TurnInput(audio=quiet))
    assert any(isinstance(e, NoSpeech) for e in events)
    assert not any(isinstance(e, (ReplyDelta, AudioPacket)) for e in events)
    assert turn.record is None and engine.conversation.turns == []
    assert engine.store.list() == []


async def test_conversation_survives_a_restart(engine):
    await engine.run_turn(TurnInput(text="My name is Ada. Just say OK."))
    conversation_id = engine.conversation.id
    await engine.aclose()
    fresh = make_engine(FAST, AppPaths.from_env())
    try:
        assert [s.id for s in fresh.store.list()] == [conversation_id]
        fresh.open_conversation(conversation_id)
        messages = fresh.conversation.to_messages("sys", "What is my name?")
        assert messages[1] == {"role": "user", "content": "My name is Ada. Just say OK."}
        turn = await fresh.run_turn(TurnInput(text="What is my name?"))
        assert len(fresh.store.load(conversation_id).turns) == 2 and turn.reply_text
    finally:
        await fresh.aclose()
