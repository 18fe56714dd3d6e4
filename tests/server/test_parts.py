"""The server's parts on their own: message validation, the Opus track,
the microphone resampler, the ICE host restriction."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np
import pytest

from desktop_app.core.events import AudioPacket, ReplyDelta, Transcript, TurnFinished
from desktop_app.core.hands_free import BargeIn, SpeechIgnored, UtteranceSubmitted
from desktop_app.core.sinks import last_played
from desktop_app.core.turn_detector import SpeechEnded, SpeechStarted
from desktop_app.media.opus import SILENCE_PACKET, OpusEncoder, decode_packets
from desktop_app.server.audio_track import OpusAudioTrack
from desktop_app.server.peer import MicrophoneResampler, restrict_ice_host_addresses
from desktop_app.server.signaling import (
    Cancel,
    HandsFreeStatus,
    HandsFreeSwitch,
    Listening,
    Offer,
    Ping,
    ProtocolError,
    TalkButton,
    TypedText,
    ViewSource,
    event_message,
    hands_free_message,
    parse_client_message,
)

OFFER = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


@pytest.mark.parametrize(
    "raw, expected",
    [
        (json.dumps({"type": "offer", "sdp": OFFER}), Offer(OFFER)),
        ('{"type": "ptt", "action": "start"}', TalkButton(True)),
        ('{"type": "ptt", "action": "stop"}', TalkButton(False)),
        ('{"type": "hands_free", "on": true}', HandsFreeSwitch(True)),
        ('{"type": "hands_free", "on": false}', HandsFreeSwitch(False)),
        ('{"type": "hands_free", "on": true, "barge_in": false, "pause_ms": 900}', HandsFreeSwitch(True, False, 900)),
        ('{"type": "cancel"}', Cancel()),
        ('{"type": "text", "text": "  hi there "}', TypedText("hi there")),
        (b'{"type": "ping"}', Ping()),
        ('{"type": "source", "source": "screen"}', ViewSource("screen")),
    ],
)
def test_valid_messages_parse_to_typed_ones(raw, expected):
    assert parse_client_message(raw) == expected


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "not JSON"),
        ("{", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[]", "JSON object"),
        ("{}", "missing 'type'"),
        ('{"type": 5}', "missing 'type'"),
        ('{"type": "' + "z" * 500 + '"}', "unknown message type"),
        ('{"type": "offer", "sdp": "hello"}', "malformed offer"),
        ('{"type": "offer", "sdp": "v=0\\r\\nm=video 9"}', "no audio"),
        ('{"type": "ptt"}', "'start' or 'stop'"),
        ('{"type": "hands_free"}', "'on' must be true or false"),
        ('{"type": "hands_free", "on": 1}', "'on' must be true or false"),
        ('{"type": "hands_free", "on": "yes"}', "'on' must be true or false"),
        ('{"type": "hands_free", "on": true, "barge_in": "no"}', "'barge_in' must be true or false"),
        ('{"type": "hands_free", "on": true, "pause_ms": 50}', "from 200 to 3000"),
        ('{"type": "hands_free", "on": true, "pause_ms": 600.5}', "whole number"),
        ('{"type": "hands_free", "on": true, "pause_ms": true}', "whole number"),
        ('{"type": "hands_free", "on": true, "pause_ms": "600"}', "whole number"),
        ('{"type": "text", "text": ["a"]}', "non-empty string"),
        ('{"type": "text", "text": "' + "a" * 5000 + '"}', "too long"),
        ('{"type": "ping", "pad": "' + "p" * 70000 + '"}', "too large"),
        ('{"type": "source", "source": "window"}', "'camera' or 'screen'"),
    ],
)
def test_invalid_messages_are_one_line_protocol_errors(raw, fragment):
    with pytest.raises(ProtocolError) as info:
        parse_client_message(raw)
    message = str(info.value)
    assert fragment in message and "\n" not in message and len(message) < 200


def test_engine_events_become_page_messages():
    assert event_message(Transcript("t1", "hi")) == {"type": "transcript", "turn_id": "t1", "text": "hi"}
    assert event_message(ReplyDelta("t1", "Hel")) == {"type": "delta", "turn_id": "t1", "text": "Hel"}
    assert event_message(TurnFinished("t1", "hi", "Hello", False, 400.0))["type"] == "finished"
    assert event_message(AudioPacket("t1", 0, b"x")) is None  # audio goes over RTP


def test_hands_free_state_and_events_become_small_page_messages():
    assert HandsFreeStatus(True, False, 900).as_message() == {"type": "hands_free", "on": True, "barge_in": False, "pause_ms": 900}
    assert HandsFreeStatus(False).as_message() == {"type": "hands_free", "on": False}
    assert Listening("off").as_message() == {"type": "listening", "state": "off"}
    started = SpeechStarted(1000, 5000, np.zeros(4000, np.float32), 10.0)
    ended = SpeechEnded(1000, 17000, 26600, 20.0, 15.0)
    assert hands_free_message(started) == {"type": "listening", "state": "hearing"}
    assert hands_free_message(ended) == {"type": "listening", "state": "idle"}
    assert hands_free_message(BargeIn("t1", 100.0, 101.26)) == {"type": "barge_in", "turn_id": "t1", "stop_ms": 1.3}
    assert hands_free_message(UtteranceSubmitted("t2", 1000.4)) == {"type": "utterance", "turn_id": "t2", "speech_ms": 1000}
    assert hands_free_message(SpeechIgnored(5.0)) == {"type": "speech_ignored"}


async def test_the_track_sends_queued_packets_then_silence_and_flush_silences_at_once():
    speaking = []
    track = OpusAudioTrack(on_speaking=speaking.append)
    tone = (np.sin(np.arange(48000 // 5) * 2 * np.pi * 300 / 48000) * 10000).astype(np.int16)  # 200 ms
    packets = OpusEncoder().encode(tone, 48000)
    assert len(packets) == 10
    first = await track.recv()
    assert bytes(first) == SILENCE_PACKET and first.pts == 0 and first.time_base == Fraction(1, 48000)
    for i, data in enumerate(packets[:6]):
        track.write(AudioPacket("t", i, data))
    assert speaking == [True] and track.queued_ms == 120
    sent = [await track.recv() for _ in range(6)]
    assert [bytes(p) for p in sent] == packets[:6]  # the engine's bytes, not re-encoded
    assert [p.pts for p in sent] == [960 * k for k in range(1, 7)]  # 20 ms apart
    assert bytes(await track.recv()) == SILENCE_PACKET and speaking == [True, False]
    for i, data in enumerate(packets[6:]):
        track.write(AudioPacket("t", 6 + i, data))
    track.flush()
    assert bytes(await track.recv()) == SILENCE_PACKET and speaking == [True, False, True, False]
    assert track.packets_sent == 6
    assert np.abs(decode_packets([bytes(p) for p in sent])).max() > 0.1
    track.stop()


async def test_a_track_no_peer_pulls_reports_no_playback():
    """A page that only types has no audio peer: nothing it is sent is heard, so a
    reply cut short keeps the text the page showed (``last_played`` None), not an empty
    "heard" part. Once a peer pulls, the track reports what started playing."""
    track = OpusAudioTrack()
    data = OpusEncoder().encode(np.zeros(960, np.int16), 48000)[0]
    track.write(AudioPacket("t", 0, data))
    assert not track.listening and last_played([track], "t") is None
    await track.recv()
    assert track.listening and last_played([track], "t") == 0
    assert last_played([track], "another turn") == -1
    track.stop()


def test_browser_audio_becomes_16k_mono_float():
    resampler = MicrophoneResampler()
    t = np.arange(960 * 50) / 48000
    wave = (np.sin(2 * np.pi * 440 * t) * 16000).astype(np.int16)
    stereo = np.repeat(wave, 2)  # packed s16 stereo, as aiortc delivers it
    out = []
    for i in range(50):
        frame = av.AudioFrame.from_ndarray(stereo[i * 1920 : (i + 1) * 1920].reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate = 48000
        out.append(resampler.convert(frame))
    pcm = np.concatenate(out)
    assert pcm.dtype == np.float32
    assert abs(pcm.size - 16000) < 400
    assert 0.4 < np.abs(pcm[1000:]).max() < 0.6


def test_ice_host_restriction_patches_aioice_and_undoes_it():
    import aioice.ice

    original = aioice.ice.get_host_addresses
    try:
        restrict_ice_host_addresses(["127.0.0.1", "::1"])
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
    finally:
        restrict_ice_host_addresses(None)
    assert aioice.ice.get_host_addresses is original


@pytest.mark.parametrize("size, expected", [((1280, 720), (1024, 576)), ((720, 1280), (576, 1024)), ((640, 480), (640, 480))])
def test_a_browser_frame_becomes_a_jpeg_no_larger_than_the_models_side(size, expected):
    """Scaled while converted from YUV (on the release's critical path): the aspect is
    kept, and so is the picture: a white box on the left stays white, the rest dark."""
    import io

    from PIL import Image

    from desktop_app.server.session import _frame_to_jpeg

    width, height = size
    rgb = np.full((height, width, 3), 20, dtype=np.uint8)
    rgb[height // 4 : height // 2, width // 8 : width // 4] = 235
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    with Image.open(io.BytesIO(_frame_to_jpeg(frame))) as img:
        assert img.format == "JPEG" and img.size == expected
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    w, h = expected
    assert pixels[h * 3 // 8, w * 3 // 16] > 200  # inside the box
    assert pixels[h * 3 // 4, w * 3 // 4] < 50  # outside it
