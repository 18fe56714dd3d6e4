"""Live utterances: transcribed while they arrive, finished quickly at release."""

import asyncio

import numpy as np
import pytest

from desktop_app.backends.asr.whisper_local import WhisperRecognizer
from desktop_app.core.utterance import Utterance
from tests.speech import speech_pcm, word_error_rate

CHUNK = 320  # 20 ms at 16 kHz


@pytest.fixture(scope="module")
def asr(tmp_path_factory):
    return WhisperRecognizer("tiny.en", tmp_path_factory.mktemp("models"))


async def feed_in_real_time(utterance: Utterance, pcm: np.ndarray) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, offset in enumerate(range(0, pcm.size, CHUNK)):
        utterance.feed(pcm[offset : offset + CHUNK])
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - loop.time()))


async def test_phrases_are_transcribed_while_the_user_talks(asr):
    await asr.load()
    first, second = "Turn on the kitchen lights.", "Then play some quiet music."
    pause = np.zeros(16000, dtype=np.float32)
    pcm = np.concatenate([speech_pcm(first), pause, speech_pcm(second)])
    partials: list[tuple[float, str]] = []
    utterance = Utterance(asr, on_partial=lambda text: partials.append((utterance.duration_ms, text)))
    await feed_in_real_time(utterance, pcm)
    text = await utterance.finish()
    assert word_error_rate(f"{first} {second}", text) <= 0.2, text
    # the first phrase was known long before the audio ended
    total_ms = pcm.size / 16
    early = [t for ms, t in partials if ms < total_ms - 1500]
    assert early and word_error_rate(first, early[0]) <= 0.25, partials


async def test_release_after_a_short_pause_reuses_the_last_pass(asr):
    await asr.load()
    question = "How many moons does Mars have?"
    pcm = np.concatenate([speech_pcm(question), np.zeros(8000, dtype=np.float32)])
    utterance = Utterance(asr)
    await feed_in_real_time(utterance, pcm)
    heard_before_release = utterance.text
    assert word_error_rate(question, heard_before_release) <= 0.2
    assert await utterance.finish() == heard_before_release


async def test_silence_and_speech_cut_at_release(asr):
    silent = Utterance(asr)
    await feed_in_real_time(silent, np.zeros(16000, dtype=np.float32))
    assert await silent.finish() == ""
    # released mid-sentence: the tail is transcribed at finish
    question = "Please tell me about the history of Rome."
    cut = speech_pcm(question)
    utterance = Utterance(asr)
    for offset in range(0, cut.size, CHUNK):  # no pauses for background work
        utterance.feed(cut[offset : offset + CHUNK])
    assert word_error_rate(question, await utterance.finish()) <= 0.25
