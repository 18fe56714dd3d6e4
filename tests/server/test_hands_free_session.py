"""Hands-free in a browser session, without a browser: the page's messages go to
``BrowserSession.handle`` and the microphone blocks to ``BrowserSession.feed_microphone``, exactly as
the WebSocket and the peer hand them on. Turn detection is the real Silero VAD on
Piper speech; the ASR, LLM and TTS are the stubs of conftest.py. The session's audio
track has no peer: its ``recv()`` is called here to play packets out.
"""

from __future__ import annotations

import asyncio

import numpy as np

from desktop_app.config import Settings
from desktop_app.server.session import BrowserSession
from desktop_app.server.signaling import HandsFreeSwitch, TalkButton, TypedText
from tests.signals import silence, trim
from tests.speech import speech_pcm

BLOCK = 320  # 20 ms at 16 kHz, as the peer delivers it


def speak(session: BrowserSession, text: str) -> None:
    """The page's microphone: speech, then a pause long enough to end the turn."""
    pcm = np.concatenate([silence(0.4), trim(speech_pcm(text)), silence(1.0)])
    for offset in range(0, pcm.size, BLOCK):  # faster than real time: the VAD counts samples
        session.feed_microphone(pcm[offset : offset + BLOCK])


async def wait_for(condition, what: str, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def kinds(sent: list[dict]) -> list[str]:
    return [m["type"] if m["type"] != "listening" else f"listening:{m['state']}" for m in sent]


async def test_hands_free_takes_the_microphone_from_push_to_talk_and_gives_it_back(stub_backends, paths):
    sent: list[dict] = []
    session = BrowserSession(stub_backends, Settings(), paths, sent.append)
    try:
        await session.handle(HandsFreeSwitch(True))
        assert sent == [{"type": "hands_free", "on": True, "barge_in": True, "pause_ms": 600}, {"type": "listening", "state": "idle"}]
        sent.clear()
        await session.handle(TalkButton(True))  # exclusive: a press is refused, nothing records
        assert sent[0]["type"] == "error" and sent[0]["code"] == "hands_free" and "hands-free" in sent[0]["message"]
        assert not session.capture.holding
        await session.handle(TalkButton(False))  # a stray release: ignored
        assert len(sent) == 1

        speak(session, "What is the capital of France?")  # no key pressed
        assert kinds(sent)[1:4] == ["listening:hearing", "listening:idle", "utterance"], kinds(sent)
        turn_id = sent[3]["turn_id"]
        await wait_for(lambda: any(m["type"] == "finished" for m in sent), "the turn to finish")
        transcript = next(m for m in sent if m["type"] == "transcript")
        assert transcript == {"type": "transcript", "turn_id": turn_id, "text": "hello from the microphone"}
        assert session.engine.conversation.turns[-1].user_text == "hello from the microphone"

        sent.clear()
        await session.handle(HandsFreeSwitch(False))
        assert sent == [{"type": "hands_free", "on": False}, {"type": "listening", "state": "off"}]
        assert session.hands_free is None
        sent.clear()
        speak(session, "Hello there.")  # push-to-talk again: speech alone starts nothing
        await asyncio.sleep(0.2)
        assert sent == [] and session.engine.current.id == turn_id
        await session.handle(TalkButton(True))  # (it stops the reply still queued: no peer plays it)
        assert sent[-1] == {"type": "recording", "on": True}
        speak(session, "Hello there.")
        await session.handle(TalkButton(False))
        await wait_for(lambda: any(m["type"] == "finished" for m in sent), "the push-to-talk turn")
        assert len(session.engine.conversation.turns) == 2
    finally:
        await session.close()


async def test_options_from_the_page_and_switching_on_while_talk_is_held(stub_backends, paths):
    sent: list[dict] = []
    session = BrowserSession(stub_backends, Settings(), paths, sent.append)
    try:
        await session.handle(TalkButton(True))
        assert session.capture.holding
        await session.handle(HandsFreeSwitch(True, barge_in=False, pause_ms=900))
        assert not session.capture.holding  # the held recording is dropped
        assert sent[1:] == [
            {"type": "recording", "on": False},
            {"type": "hands_free", "on": True, "barge_in": False, "pause_ms": 900},
            {"type": "listening", "state": "idle"},
        ]
        hands_free = session.hands_free.hands_free
        assert not hands_free.options.barge_in and hands_free.options.detector.pause_ms == 900
        await session.handle(HandsFreeSwitch(True))  # again, without options: the settings apply
        assert session.hands_free.hands_free is not hands_free and not hands_free.enabled
        assert session.hands_free.hands_free.options.barge_in
    finally:
        await session.close()
    assert session.hands_free is None


async def test_talking_over_the_reply_stops_the_track_and_keeps_what_was_heard(stub_backends, paths):
    sent: list[dict] = []
    session = BrowserSession(stub_backends, Settings(), paths, sent.append)
    try:
        await session.handle(HandsFreeSwitch(True))
        assert await session.audio_track.recv()  # a peer is connected: it pulls the track's silence
        await session.handle(TypedText("Tell me a story. It has three parts. This is the second. And this is the end."))
        await wait_for(lambda: any(m["type"] == "finished" for m in sent), "the reply")
        first = session.engine.current
        track = session.audio_track
        assert track.queued_ms >= 400 and session.engine.speaking  # all queued, nothing played yet
        for _ in range(6):  # the peer sends 120 ms: the first chunk (100 ms) and a bit of the second
            await track.recv()
        flushes = track.flushes
        sent.clear()

        speak(session, "Please stop. What is the capital of France?")
        assert kinds(sent)[:4] == ["speaking", "cancelled", "barge_in", "listening:hearing"], kinds(sent)
        barge_in = sent[2]
        assert barge_in["turn_id"] == first.id and 0 <= barge_in["stop_ms"] < 50
        assert sent[1]["turn_id"] == first.id and sent[0] == {"type": "speaking", "on": False}
        assert track.flushes > flushes and track.queued_ms == 0  # the track went silent at once

        stored = session.engine.conversation.turns[0]
        assert stored.interrupted and stored.reply_text.startswith("You said")
        assert len(stored.reply_text) < len(first.reply_text)  # cut to the chunks that played

        await wait_for(lambda: sum(m["type"] == "finished" for m in sent) == 1, "the new turn")
        second = session.engine.conversation.turns[1]
        assert second.user_text == "hello from the microphone" and not second.interrupted
    finally:
        await session.close()
