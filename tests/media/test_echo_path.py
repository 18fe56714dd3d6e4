"""No echo path (headphones): the canceller steps aside; an echo, however faint, keeps it in.

Signals made here, through the real AEC3 (livekit), Silero VAD and tiny.en.
"""

import numpy as np
import pytest

from desktop_app.backends.asr.vad import SileroVoiceActivity
from desktop_app.backends.asr.whisper_local import WhisperRecognizer
from desktop_app.core.turn_detector import SpeechStarted, TurnDetector
from desktop_app.media.echo_canceller import EchoCanceller
from desktop_app.media.echo_path import EchoPath
from tests.media.test_echo_canceller import cancel, reply_audio
from tests.signals import RATE, noise_floor, room_echo, silence, trim
from tests.speech import first_word_kept, speech_pcm, word_error_rate

INTERRUPTIONS = ["Wait, what is the capital of Italy?", "Hold on, how tall is the Eiffel tower?"]
BARGE_IN_MS = 500  # HandsFreeOptions.barge_in_min_speech_ms: speech needed to interrupt a reply


@pytest.fixture(scope="module")
def asr(tmp_path_factory):
    return WhisperRecognizer("tiny.en", tmp_path_factory.mktemp("models"))


def _talked_over(user: np.ndarray, echo_gain: float, at_s: float = 3.0) -> tuple[np.ndarray, np.ndarray, int]:
    """A reply the user talks over ``at_s`` into it; it stops as a barge-in would
    (550 ms later). Returns (what the speaker played, the microphone, where the user starts)."""
    at = int(at_s * RATE)
    total = at + user.size + RATE
    played = np.zeros(total, dtype=np.float32)
    stop = at + RATE * (BARGE_IN_MS + 50) // 1000
    played[:stop] = reply_audio()[:stop]
    mic = noise_floor(total)
    mic[at : at + user.size] += user
    if echo_gain:
        mic += room_echo(played, 60, echo_gain, echo_gain / 5)
    return played, mic, at


async def test_with_headphones_words_said_over_the_reply_pass_untouched(asr):
    """No echo reaches the microphone: two seconds into the reply the canceller lets it
    through as it is, and the first word said over the reply is heard. (Through AEC3 it
    was lost: "Wait, what is..." -> "What is...", 4 of 4 sentences.)"""
    await asr.load()
    for sentence in INTERRUPTIONS:
        user = trim(speech_pcm(sentence))
        played, mic, at = _talked_over(user, echo_gain=0.0)
        canceller = EchoCanceller()
        cleaned = cancel(canceller, played, mic)
        assert canceller.echo_path is EchoPath.NONE
        assert np.array_equal(cleaned[at : at + user.size], mic[at : at + user.size])
        text = (await asr.transcribe(cleaned[at - 3200 :])).text
        print(f"\nheadphones, {sentence!r} said over the reply: heard {text!r}")
        assert first_word_kept(sentence, text) and word_error_rate(sentence, text) <= 0.25, text


async def test_a_room_echo_keeps_the_canceller_in(asr):
    """Speakers: the same words over the same reply, with its echo; the echo is removed
    and the words still heard."""
    await asr.load()
    sentence = INTERRUPTIONS[0]
    played, mic, at = _talked_over(trim(speech_pcm(sentence)), echo_gain=0.35)
    canceller = EchoCanceller()
    cleaned = cancel(canceller, played, mic)
    assert canceller.echo_path is EchoPath.HEARD
    text = (await asr.transcribe(cleaned[at - 3200 :])).text
    echo_alone = (await asr.transcribe(cleaned[: at - 3200])).text
    print(f"\nspeakers: heard {text!r}; the echo alone: {echo_alone!r}")
    assert word_error_rate(sentence, text) <= 0.25 and echo_alone.strip() == "", (text, echo_alone)


def _echo_turns(canceller: EchoCanceller | None, played: np.ndarray, mic: np.ndarray) -> int:
    """Turns the VAD starts on the canceller's output (the raw microphone when None),
    needing as much speech as a barge-in does."""
    detector = TurnDetector(SileroVoiceActivity())
    detector.set_min_speech_ms(BARGE_IN_MS)
    found = 0
    for offset in range(0, mic.size, 320):
        block = mic[offset : offset + 320]
        if canceller is not None:
            canceller.push_playback(played[offset : offset + 320], RATE)
            block = canceller.process(block)
        found += sum(isinstance(event, SpeechStarted) for event in detector.feed(block))
    return found


@pytest.mark.parametrize("coupling_db, delay_ms", [(-50, 60), (-44, 60), (-44, 450)])
def test_an_echo_at_the_noise_floor_is_not_taken_for_headphones(coupling_db, delay_ms):
    """A quiet speaker: the echo sits at the room's noise floor, AEC3 takes little off
    it, but the VAD hears speech in it. The microphone's level follows the reply's (also
    450 ms late, a Bluetooth speaker), so the canceller stays in, and the echo starts no turn."""
    played = np.concatenate([reply_audio(), reply_audio()])
    gain = 10 ** (coupling_db / 20)
    mic = room_echo(played, delay_ms, gain, gain / 5) + noise_floor(played.size)
    assert _echo_turns(None, played, mic), "control: the raw microphone's echo does start turns"
    canceller = EchoCanceller()
    assert _echo_turns(canceller, played, mic) == 0
    assert canceller.echo_path is not EchoPath.NONE


def test_headphones_then_speakers_the_next_reply_starts_cancelled():
    """The user unplugs the headphones between two replies (while asking the next
    question): the next reply is judged afresh, cancelled from its first sample, and its
    echo interrupts nothing."""
    first = np.concatenate([reply_audio(), silence(2.5)])
    canceller = EchoCanceller()
    cancel(canceller, first, noise_floor(first.size))
    assert canceller.echo_path is EchoPath.NONE
    second = np.concatenate([reply_audio(), reply_audio()])
    mic = room_echo(second, 60, 0.35, 0.07) + noise_floor(second.size)
    assert _echo_turns(canceller, second, mic) == 0
    assert canceller.echo_path is EchoPath.HEARD


def test_a_muted_microphone_is_not_taken_for_headphones():
    """A microphone that delivers zeros (muted) says nothing about the room: on speakers,
    muted for the first 3 s of a reply and then unmuted, the echo is still cancelled."""
    played = np.concatenate([reply_audio(), reply_audio()])
    mic = room_echo(played, 60, 0.35, 0.07) + noise_floor(played.size)
    mic[: 3 * RATE] = 0.0
    canceller = EchoCanceller()
    assert _echo_turns(canceller, played, mic) == 0
    assert canceller.echo_path is not EchoPath.NONE


def test_the_next_reply_is_judged_afresh_when_told():
    """Hands-free says when a turn is submitted (``next_reply``): the next reply starts
    cancelled even when it follows the last one closely (less than 2 s of silence)."""
    canceller = EchoCanceller()
    first = np.concatenate([reply_audio(), silence(0.5)])
    cancel(canceller, first, noise_floor(first.size))
    assert canceller.echo_path is EchoPath.NONE
    canceller.next_reply()
    second = np.concatenate([reply_audio(), reply_audio()])
    mic = room_echo(second, 60, 0.35, 0.07) + noise_floor(second.size)
    assert _echo_turns(canceller, second, mic) == 0
    assert canceller.echo_path is EchoPath.HEARD
