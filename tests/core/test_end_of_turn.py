"""Hands-free ends a finished turn after a short pause, and waits through a thinking pause.

The transcript rules (``core.end_of_turn``) on text, the Smart Turn v3 model on speech,
then the real thing: HandsFree on the real engine (tiny.en, SmolLM2, Smart Turn), fed at
real-time pace. Finished questions end after the short pause; utterances with a
thinking pause of 450 ms mid-clause are not cut (no more cut-offs than with the fixed
600 ms pause).
"""

import asyncio
import dataclasses

import numpy as np
import pytest

from desktop_app.config import Settings
from desktop_app.core.end_of_turn import goes_on, sounds_finished
from desktop_app.core.hands_free import HandsFree, HandsFreeOptions, UtteranceSubmitted
from desktop_app.core.turn_detector import SpeechEnded, TurnDetectorConfig
from tests.core.engines import warm_engine
from tests.signals import noise_floor, silence, trim
from tests.speech import speech_pcm

FAST = Settings(llm_provider="embedded", llm_model="smollm2-135m", llm_max_tokens=20)
BLOCK = 320


@pytest.mark.parametrize(
    "text, finished",
    [
        ("What is the capital of France?", True),
        ("What do you think?", True),
        ("Turn on the kitchen lights.", True),
        ("I would like to know, um", False),
        ("I would like to know, um.", False),
        ("So the thing is, and", False),
        ("Let me think.", False),
        ("Okay.", False),  # too short to be sure
        ("Tell me about the", False),
        ("Is it this one or?", False),
        ("", False),
    ],
)
def test_what_sounds_finished(text, finished):
    assert sounds_finished(text) is finished


@pytest.mark.parametrize(
    "text, more",
    [("So my question is, and", True), ("Tell me about the", True), ("I was thinking...", True),
     ("What is the capital of France?", False), ("I would like to know.", False), ("", False)],
)  # fmt: skip
def test_what_clearly_goes_on(text, more):
    assert goes_on(text) is more


async def test_smart_turn_hears_a_finished_question_from_a_hesitation():
    """Piper speech; margins: finished >= 0.5 and hesitations < 0.5 in all but one of each
    set (the model's int8 kernels differ by CPU a little; measured 0.88-0.97 vs 0.01-0.18)."""
    from desktop_app.backends.turn.smart_turn import SmartTurnModel

    model = SmartTurnModel()
    await model.load()
    try:
        done = [await model.probability(np.concatenate([trim(speech_pcm(q)), silence(0.2)])) for q in QUESTIONS]
        trailing = [await model.probability(np.concatenate([trim(speech_pcm(b)), silence(0.2)])) for b, _ in THINKING]
    finally:
        await model.aclose()
    print(f"finished {done}, trailing off {trailing}")
    assert sum(p >= 0.5 for p in done) >= len(done) - 1, done
    assert sum(p < 0.5 for p in trailing) >= len(trailing) - 1, trailing


@pytest.fixture
async def engine():
    async with warm_engine(FAST) as engine:
        yield engine


async def run_hands_free(engine, options: HandsFreeOptions, pcm: np.ndarray) -> tuple[list[SpeechEnded], list[UtteranceSubmitted]]:
    hands_free = HandsFree(engine, options)
    ended: list[SpeechEnded] = []
    submitted: list[UtteranceSubmitted] = []
    hands_free.subscribe(lambda e: ended.append(e) if isinstance(e, SpeechEnded) else submitted.append(e) if isinstance(e, UtteranceSubmitted) else None)
    loop = asyncio.get_running_loop()
    start = loop.time()
    audio = pcm + noise_floor(pcm.size)
    for i, offset in enumerate(range(0, audio.size, BLOCK)):
        hands_free.feed(audio[offset : offset + BLOCK])
        await asyncio.sleep(max(0.0, start + (i + 1) * BLOCK / 16000 - loop.time()))
    hands_free.close()
    engine.cancel()
    if engine.current is not None:
        await engine.current.wait()
    return ended, submitted


QUESTIONS = ["What is the capital of France?", "How many legs does a spider have?", "Turn on the kitchen lights."]
THINKING = [  # (before the pause, after it): a user thinking mid-clause
    ("I would like to know, um", "what the capital of Peru is."),
    ("Can you tell me about the", "history of the Roman empire?"),
    ("So my question is, and", "this is important, how tall is Everest?"),
]
THINKING_PAUSE_S = 0.45


async def test_a_finished_question_ends_after_the_short_pause(engine):
    """Each question, then 2.5 s of silence, with the full pause set to 2 s: a finished
    question ends long before it.

    The model is asked after 200 ms of silence and answers in ~45 ms; the live transcript
    of the pause may veto it ("... about the"), so the turn ends when that transcript is
    made: 200 ms + one tiny.en pass (150-650 ms on 2 busy cores). The long full pause keeps
    this a test of the decision, not of the machine's speed. Asserted: at least 2 of 3
    questions end early (the model's scores differ a little by CPU).
    """
    options = HandsFreeOptions(detector=TurnDetectorConfig(pause_ms=2000))
    early = 0
    for question in QUESTIONS:
        pcm = np.concatenate([silence(0.5), trim(speech_pcm(question)), silence(2.5)])
        ended, submitted = await run_hands_free(engine, options, pcm)
        assert len(ended) == 1 and len(submitted) == 1, question
        pause_ms = (ended[0].decided_sample - ended[0].end_sample) / 16
        print(f"{question!r}: ended {pause_ms:.0f} ms after the speech")
        early += pause_ms < 1500
    assert early >= 2


async def test_a_thinking_pause_is_not_cut_off(engine):
    """Speech, a 450 ms pause mid-clause, the rest: one turn with the fixed 600 ms pause
    (0 of 3 cut), and at most one of three cut with the adaptive one. On Intel it cut 0;
    on AMD it cuts "Can you tell me about the ...": the model gives the pause 0.94 and
    Whisper hears "about that?" (docs/benchmarks.md, hands-free). Two cuts fail it."""
    adaptive = HandsFreeOptions()
    fixed = dataclasses.replace(adaptive, finished_pause_ms=None)
    cuts = {"adaptive": 0, "fixed": 0}
    for before, after in THINKING:
        pcm = np.concatenate([silence(0.5), trim(speech_pcm(before)), silence(THINKING_PAUSE_S), trim(speech_pcm(after)), silence(1.5)])
        for name, options in (("adaptive", adaptive), ("fixed", fixed)):
            ended, _ = await run_hands_free(engine, options, pcm)
            cuts[name] += len(ended) - 1
            print(f"{name}: {before!r} ... {after!r}: {len(ended)} turn(s)")
    assert cuts["fixed"] == 0 and cuts["adaptive"] <= 1, cuts


async def test_a_short_pause_is_transcribed_and_the_reply_begun_on_it_yields_to_more_speech(engine):
    """A 180 ms pause, shorter than the 200 ms after which the model is asked: it is
    transcribed anyway (``transcribe_pause_ms``), and the reply is begun on its words.
    The user goes on: that reply is dropped, and the turn answers all of it."""
    from tests.core.test_prepared_reply import StreamLog

    log = StreamLog(engine.backends.llm)
    first, rest = "What is the capital of France?", "And what about Spain?"
    pcm = np.concatenate([silence(0.5), trim(speech_pcm(first)), silence(0.18), trim(speech_pcm(rest)), silence(2.5)])
    ended, submitted = await run_hands_free(engine, HandsFreeOptions(detector=TurnDetectorConfig(pause_ms=2000)), pcm)
    print(log.prompts)
    assert len(ended) == 1 and len(submitted) == 1
    assert "France" in log.prompts[0] and "Spain" not in log.prompts[0], log.prompts
    assert log.ended[0] and "Spain" in log.prompts[-1], log.prompts
