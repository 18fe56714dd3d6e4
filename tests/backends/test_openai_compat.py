"""The OpenAI-compatible backends against a local server speaking the real protocol.

Real sockets on 127.0.0.1, real HTTP, no mocks: see :mod:`tests.openai_server`.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
from pathlib import Path
from typing import AsyncIterator, Iterator

import numpy as np
import pytest
from PIL import Image

from desktop_app.backends.asr.base import SAMPLE_RATE
from desktop_app.backends.asr.openai_transcription import OpenAITranscriber
from desktop_app.backends.asr.whisper_local import WhisperRecognizer
from desktop_app.backends.factory import make_engine
from desktop_app.backends.llm.openai_chat import OpenAIChatModel
from desktop_app.backends.tts.openai_speech import OpenAISpeechSynthesizer
from desktop_app.backends.tts.piper_local import PiperSynthesizer
from desktop_app.config import AppPaths, Secret, Settings
from desktop_app.core.conversation import Conversation, ConversationStore
from desktop_app.core.events import AudioPacket, ChunkSpoken, Event, ReplyDelta, Transcript, TurnCancelled, TurnError
from desktop_app.core.sinks import CollectingSink
from desktop_app.core.turn import TurnInput
from desktop_app.errors import EndpointError
from desktop_app.media.audio_file import load_audio, write_wav
from desktop_app.media.image import to_jpeg
from desktop_app.media.opus import OPUS_RATE, decode_packets
from tests.openai_server import FakeOpenAIServer, serve_in_thread
from tests.speech import speech_pcm, word_error_rate

KEY = "sk-test-4f9c2a7d81e3b6a0c5d2"
WRONG_KEY = "sk-wrong-9b8a7c6d5e4f3a2b1c0d"
QUESTION = "What is a list in Python?"
MAX_WER = 0.25
WAIT_S = 300.0  # a generous bound for "this eventually happens" (busy 2-core machine)


# ---- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def models() -> Iterator[tuple[PiperSynthesizer, WhisperRecognizer]]:
    """One Piper voice and one Whisper model for every server of this module (loaded once)."""
    voice, whisper = PiperSynthesizer("joe"), WhisperRecognizer("tiny.en")
    yield voice, whisper
    asyncio.run(voice.aclose())
    asyncio.run(whisper.aclose())


@pytest.fixture
async def server(models: tuple[PiperSynthesizer, WhisperRecognizer]) -> AsyncIterator[FakeOpenAIServer]:
    voice, whisper = models
    async with FakeOpenAIServer(KEY, synthesizer=voice, recognizer=whisper) as srv:
        yield srv


@pytest.fixture
def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _jpeg() -> bytes:
    return to_jpeg(Image.new("RGB", (64, 48), (200, 40, 40)))


def _settings(base_url: str, key: str = KEY) -> Settings:
    return Settings(
        llm_provider="openai",
        tts_provider="openai",
        asr_provider="openai",
        llm_base_url=base_url,
        llm_api_key=Secret(key),
    )


async def _transcribe_opus(packets: list[bytes], whisper: WhisperRecognizer, tmp_path: Path) -> str:
    """Decode Opus packets, resample to 16 kHz (through a WAV file) and run Whisper."""
    wav = tmp_path / "reply.wav"
    write_wav(wav, decode_packets(packets), OPUS_RATE)
    result = await whisper.transcribe(load_audio(wav, SAMPLE_RATE))
    return result.text


# ---- chat ---------------------------------------------------------------------------


async def test_chat_streams_the_whole_reply(server: FakeOpenAIServer) -> None:
    model = OpenAIChatModel(server.base_url, KEY, "gpt-4o-mini", max_tokens=100)
    try:
        deltas = [d async for d in model.stream(Conversation().to_messages("Be brief.", QUESTION))]
    finally:
        await model.aclose()
    assert len(deltas) > 10  # streamed in pieces, not at once
    assert "".join(deltas) == server.reply
    (body,) = server.chat_requests
    assert body["stream"] is True
    assert body["model"] == "gpt-4o-mini"
    assert body["max_tokens"] == 100  # a base URL was given: not api.openai.com
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]


async def test_chat_sends_the_frame_only_with_vision(server: FakeOpenAIServer) -> None:
    jpeg = _jpeg()
    messages = Conversation().to_messages("Be brief.", "What colour is this?", jpeg)
    for vision in (True, False):
        model = OpenAIChatModel(server.base_url, KEY, "gpt-4o-mini", vision=vision)
        try:
            reply = "".join([d async for d in model.stream(messages)])
        finally:
            await model.aclose()
        assert reply == server.reply
    with_vision, without_vision = server.chat_requests
    parts = with_vision["messages"][-1]["content"]
    assert {"type": "text", "text": "What colour is this?"} in parts
    (image,) = [p for p in parts if p["type"] == "image_url"]
    assert image["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert without_vision["messages"][-1] == {"role": "user", "content": "What colour is this?"}
    assert "image_url" not in json.dumps(without_vision)


# ---- speech -------------------------------------------------------------------------


async def test_speech_packets_are_forwarded_unchanged_and_intelligible(
    server: FakeOpenAIServer, models: tuple[PiperSynthesizer, WhisperRecognizer], tmp_path: Path
) -> None:
    text = "The weather today is sunny and warm, with a light breeze from the west."
    tts = OpenAISpeechSynthesizer(server.base_url, KEY, voice="alloy")
    try:
        packets = [p async for p in tts.synthesize(text)]
    finally:
        await tts.aclose()
    (body,) = server.speech_requests
    assert body["input"] == text and body["response_format"] == "opus" and body["voice"] == "alloy"
    assert len(packets) > 50
    assert packets == server.speech_packets[0]  # demuxed, not re-encoded
    heard = await _transcribe_opus(packets, models[1], tmp_path)
    assert word_error_rate(text, heard) <= MAX_WER, heard


# ---- transcription ------------------------------------------------------------------


async def test_transcriber_transcribes_speech(server: FakeOpenAIServer) -> None:
    text = "Please open the window and turn on the light."
    asr = OpenAITranscriber(server.base_url, KEY)
    try:
        await asr.load()
        result = await asr.transcribe(speech_pcm(text))
    finally:
        await asr.aclose()
    assert word_error_rate(text, result.text) <= MAX_WER, result.text
    (request,) = server.transcription_requests
    assert request["model"] == "whisper-1" and request["filename"] == "speech.wav" and request["bytes"] > 0


async def test_transcriber_skips_silence_without_calling_the_server(server: FakeOpenAIServer) -> None:
    asr = OpenAITranscriber(server.base_url, KEY)
    try:
        await asr.load()
        result = await asr.transcribe(np.zeros(2 * SAMPLE_RATE, dtype=np.float32))
    finally:
        await asr.aclose()
    assert result.text == ""
    assert server.transcription_requests == []


# ---- a whole engine turn ------------------------------------------------------------


async def test_engine_turn_through_all_three_openai_backends(
    server: FakeOpenAIServer, models: tuple[PiperSynthesizer, WhisperRecognizer], tmp_path: Path
) -> None:
    settings = _settings(server.base_url)
    paths = AppPaths.from_env()
    engine = make_engine(settings, paths)
    sink = CollectingSink()
    engine.add_sink(sink)
    events: list[Event] = []
    engine.subscribe(events.append)
    jpeg = _jpeg()
    try:
        await engine.warm_up()
        first = await engine.run_turn(TurnInput(audio=speech_pcm(QUESTION), image_jpeg=jpeg))
        second = await engine.run_turn(TurnInput(text="Thanks!"))
    finally:
        await engine.aclose()

    assert not [e for e in events if isinstance(e, TurnError)]
    transcripts = [e.text for e in events if isinstance(e, Transcript)]
    assert len(transcripts) == 2 and transcripts[1] == "Thanks!"
    assert word_error_rate(QUESTION, transcripts[0]) <= MAX_WER, transcripts[0]
    assert first.reply_text == second.reply_text == server.reply
    assert len(server.transcription_requests) == 1  # typed text is not transcribed

    # Every packet the server muxed reached the sink, unchanged and in order.
    assert sink.payloads() == [p for reply in server.speech_packets for p in reply]
    first_packets = [p for p in sink.packets if p.turn_id == first.id]
    assert [p.sequence for p in first_packets] == list(range(len(first_packets)))
    first_chunks = [e.text for e in events if isinstance(e, ChunkSpoken) and e.turn_id == first.id]
    assert [r["input"] for r in server.speech_requests[: len(first_chunks)]] == first_chunks
    spoken = " ".join(first_chunks)
    assert "items.append" not in spoken and "The code is on screen." in spoken
    heard = await _transcribe_opus([p.data for p in first_packets], models[1], tmp_path)
    assert word_error_rate(spoken, heard) <= MAX_WER, heard

    # The chat requests: system prompt, the frame (gpt-4o-mini sees), then the history.
    ask_first, ask_second = server.chat_requests
    assert ask_first["messages"][0] == {"role": "system", "content": settings.system_prompt}
    assert any(p["type"] == "image_url" for p in ask_first["messages"][-1]["content"])
    assert ask_second["messages"][1:] == [
        {"role": "user", "content": transcripts[0]},
        {"role": "assistant", "content": server.reply},
        {"role": "user", "content": "Thanks!"},
    ]

    # Both turns are stored on disk, with the frame of the first.
    stored = ConversationStore(paths.conversations_dir).load(engine.conversation.id)
    assert [(t.user_text, t.reply_text, t.interrupted, t.error) for t in stored.turns] == [
        (transcripts[0], server.reply, False, ""),
        ("Thanks!", server.reply, False, ""),
    ]
    assert (paths.conversations_dir / stored.turns[0].image_file).read_bytes() == jpeg


async def test_cancel_mid_reply_stops_audio_and_text_at_once(server: FakeOpenAIServer) -> None:
    server.reply = " ".join(["This sentence is part of a long answer that keeps going."] * 12)
    server.chunk_delay_s = 0.25  # about 30 s for the whole reply: the turn is cut long before
    engine = make_engine(_settings(server.base_url), AppPaths.from_env())
    sink = CollectingSink()
    engine.add_sink(sink)
    events: list[Event] = []
    first_audio = asyncio.Event()

    def listen(event: Event) -> None:
        events.append(event)
        if isinstance(event, AudioPacket):
            first_audio.set()

    engine.subscribe(listen)
    try:
        await engine.warm_up()
        turn = engine.submit(TurnInput(text="Tell me a long story."))
        await asyncio.wait_for(first_audio.wait(), WAIT_S)
        assert engine.cancel()
        seen_at_cancel = len(events)
        await turn.wait()
    finally:
        await engine.aclose()

    after = events[seen_at_cancel:]
    assert not [e for e in after if isinstance(e, (AudioPacket, ReplyDelta))]
    assert [type(e).__name__ for e in after][:1] == ["TurnCancelled"]
    assert sink.flushes == 1
    cancelled = next(e for e in after if isinstance(e, TurnCancelled))
    record = ConversationStore(AppPaths.from_env().conversations_dir).load(engine.conversation.id).turns[-1]
    assert record.interrupted is True
    assert record.reply_text == cancelled.delivered_text == turn.reply_text
    assert record.reply_text and server.reply.startswith(record.reply_text)
    assert len(record.reply_text) < len(server.reply)


# ---- errors: one clear line, never the key ------------------------------------------


async def test_wrong_key_is_a_401_endpoint_error_without_the_key(server: FakeOpenAIServer) -> None:
    chat = OpenAIChatModel(server.base_url, WRONG_KEY, "gpt-4o-mini")
    tts = OpenAISpeechSynthesizer(server.base_url, WRONG_KEY)
    asr = OpenAITranscriber(server.base_url, WRONG_KEY)
    errors: list[EndpointError] = []
    try:
        with pytest.raises(EndpointError) as info:
            async for _ in chat.stream([{"role": "user", "content": "hi"}]):
                pass
        errors.append(info.value)
        with pytest.raises(EndpointError) as info:
            async for _ in tts.synthesize("Hello there."):
                pass
        errors.append(info.value)
        await asr.load()
        with pytest.raises(EndpointError) as info:
            await asr.transcribe(speech_pcm("Hello there."))
        errors.append(info.value)
    finally:
        for backend in (chat, tts, asr):
            await backend.aclose()
    assert server.rejected == 3
    for what, error in zip(("chat", "speech", "transcription"), errors):
        message = str(error)
        assert "401" in message and what in message and server.base_url in message
        assert WRONG_KEY not in message and WRONG_KEY[-4:] not in message and KEY not in message
        assert "\n" not in message


async def test_unreachable_endpoint_is_a_cannot_reach_error(closed_port_url: str) -> None:
    chat = OpenAIChatModel(closed_port_url, KEY, "gpt-4o-mini")
    tts = OpenAISpeechSynthesizer(closed_port_url, KEY)
    try:
        with pytest.raises(EndpointError, match="cannot reach the chat endpoint") as chat_error:
            async for _ in chat.stream([{"role": "user", "content": "hi"}]):
                pass
        with pytest.raises(EndpointError, match="cannot reach the speech endpoint") as tts_error:
            async for _ in tts.synthesize("Hello there."):
                pass
    finally:
        await chat.aclose()
        await tts.aclose()
    for error in (chat_error.value, tts_error.value):
        assert closed_port_url in str(error) and KEY not in str(error) and "\n" not in str(error)


# ---- the CLI, as a user runs it -----------------------------------------------------


def _run_ask(cmd: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **env_extra}
    return subprocess.run(
        [*cmd, "ask", "--text", "hi", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


def _assert_one_error_line(result: subprocess.CompletedProcess[str], key: str, expect: str) -> None:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("aiwebcam: error:") and expect in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert key not in result.stdout and key not in result.stderr


def test_cli_ask_with_a_wrong_key_fails_in_one_line(models: tuple[PiperSynthesizer, WhisperRecognizer], aiwebcam_cmd: list[str]) -> None:
    with serve_in_thread(FakeOpenAIServer(KEY, synthesizer=models[0], recognizer=models[1])) as srv:
        result = _run_ask(
            aiwebcam_cmd,
            {"OPENAI_API_KEY": WRONG_KEY, "OPENAI_BASE_URL": srv.base_url, "AIWEBCAM_TTS_PROVIDER": "piper"},
        )
    _assert_one_error_line(result, WRONG_KEY, "401")
    assert srv.rejected == 1 and srv.chat_requests == []


def test_cli_ask_with_an_unreachable_endpoint_fails_in_one_line(closed_port_url: str, aiwebcam_cmd: list[str]) -> None:
    result = _run_ask(
        aiwebcam_cmd,
        {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": closed_port_url, "AIWEBCAM_TTS_PROVIDER": "piper"},
    )
    _assert_one_error_line(result, KEY, "cannot reach")


def test_cli_ask_through_the_server(models: tuple[PiperSynthesizer, WhisperRecognizer], aiwebcam_cmd: list[str]) -> None:
    with serve_in_thread(FakeOpenAIServer(KEY, synthesizer=models[0], recognizer=models[1])) as srv:
        result = _run_ask(
            aiwebcam_cmd,
            {
                "OPENAI_API_KEY": KEY,
                "OPENAI_BASE_URL": srv.base_url,
                "AIWEBCAM_TTS_PROVIDER": "openai",
                "AIWEBCAM_ASR_PROVIDER": "openai",
            },
        )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and KEY not in result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["transcript"] == "hi"
    assert summary["reply"] == srv.reply
    assert summary["interrupted"] is False
    assert summary["audio_seconds"] > 1.0
    assert summary["backends"] == {"asr": "openai whisper-1", "llm": "openai gpt-4o-mini", "tts": "openai gpt-4o-mini-tts alloy"}
    assert srv.chat_requests[0]["messages"][-1] == {"role": "user", "content": "hi"}
    assert srv.speech_requests and srv.transcription_requests == []


async def test_a_vision_endpoint_gets_the_image_and_the_read_text_only_when_asked(server: FakeOpenAIServer) -> None:
    """The frame goes to a model that sees as the image itself; the text read from it
    (OCR, offline) goes along only with text_in_view_with_image."""
    from tests.pictures import ERROR_CODE, error_screen
    from tests.pictures import jpeg as picture_jpeg

    frame = picture_jpeg(error_screen())
    for with_text in (False, True):
        settings = _settings(server.base_url).updated({"text_in_view_with_image": with_text})
        assert settings.resolved_vision()
        engine = make_engine(settings, AppPaths.from_env())
        assert (engine.backends.reader is not None) == with_text and engine.reads_view == with_text
        engine.set_view_source("screen")
        try:
            await engine.warm_up()
            turn = await engine.run_turn(TurnInput(text="What does my screen say?", image_jpeg=frame))
        finally:
            await engine.aclose()
        assert turn.view is not None and turn.view.given == "image"
        parts = server.chat_requests[-1]["messages"][-1]["content"]
        assert [p["type"] for p in parts] == ["text", "image_url"]
        assert "cannot see" not in server.chat_requests[-1]["messages"][0]["content"]  # it can
        if with_text:
            assert parts[0]["text"].startswith("[Text visible on the user's screen (OCR")
            assert ERROR_CODE in parts[0]["text"] and parts[0]["text"].endswith("What does my screen say?")
        else:
            assert parts[0]["text"] == "What does my screen say?"
