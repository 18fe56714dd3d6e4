"""Hands-free on real sound devices, with the speaker's echo in the microphone.

The app (``aiwebcam``, the real window offscreen, hands-free switched on in its
settings) plays into a PulseAudio null sink "speaker"; a loopback feeds that speaker,
attenuated and delayed, into the microphone's sink, as a laptop's speakers reach its
microphone. The "user" is speech played into the microphone with paplay.

What a user without headphones needs: the app answers after a pause; talking over the
reply stops it and the new question is answered; the app's own voice, coming back
through the microphone for a whole reply, neither interrupts it nor becomes a turn.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from desktop_app.media.audio_file import load_audio, write_wav
from tests.media.pulse import DEVICE, LOUD, SpeakerMonitor, private_pulse, skip_reason
from tests.speech import first_word_kept, piper_wav, word_error_rate, words

QUESTION = "Tell me a story about a lighthouse keeper and the sea."
INTERRUPTION = "Wait, what is the capital of Italy?"
QUESTION_ASKED = "What is the capital of Italy?"  # the interruption after its first word
MAX_WER = 0.25
ECHO_GAIN = 0.35  # speaker -> microphone coupling (about -9 dB), 40 ms away
STEP_S = 0.1


@pytest.fixture
def headphones(tmp_path):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with private_pulse(tmp_path) as env:  # nothing played comes back to the microphone
        yield env


@pytest.fixture
def room(tmp_path):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with private_pulse(tmp_path, echo_volume=ECHO_GAIN, echo_latency_ms=40) as env:
        yield env


def _wait(condition, timeout_s: float, what: str, app: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if app.poll() is not None:
            pytest.fail(f"the app exited ({app.returncode}) while waiting for {what}: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; app log: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(STEP_S)


def _turns(data_dir: Path) -> list[dict]:
    files = sorted((data_dir / "conversations").glob("*.json"))
    if not files:
        return []
    try:
        return json.loads(files[-1].read_text())["turns"]
    except (ValueError, KeyError):  # written atomically, but be safe
        return []


@dataclass
class TalkedOver:
    turns: list[dict]
    log: str
    speaker_windows: np.ndarray  # the speaker's 100 ms levels
    barge_window: int  # the window at which the interruption began to play


def _room_noise(tmp_path: Path, seconds: float = 120.0, dbfs: float = -60.0) -> Path:
    """A quiet room's background for the microphone (real headphones' microphones hear
    one; a null sink's is digital silence, which tells the canceller nothing)."""
    rng = np.random.default_rng(7)
    noise = rng.standard_normal(int(seconds * 16000)) * 10 ** (dbfs / 20)
    path = tmp_path / "room-noise.wav"
    write_wav(path, (noise * 32767).astype(np.int16), 16000)
    return path


def _talk_over_the_reply(
    room: dict, tmp_path: Path, aiwebcam_cmd: list[str], loud_s: float, background: Path | None = None, logged: str | None = None
) -> TalkedOver:
    """The app in hands-free: ask for a story, talk over its reply once ``loud_s`` of it
    has played (and the app has ``logged`` that line, when given), wait until the second
    reply has played to its end. ``background`` plays into the microphone all along."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    data_dir = tmp_path / "data"
    ready = tmp_path / "ready"
    log = tmp_path / "app.log"
    env = {
        **room,
        "QT_QPA_PLATFORM": "offscreen",
        "AIWEBCAM_DATA_DIR": str(data_dir),
        "AIWEBCAM_READY_FILE": str(ready),
        "AIWEBCAM_HANDS_FREE": "true",
        "AIWEBCAM_LLM_PROVIDER": "embedded",
        "AIWEBCAM_LLM_MODEL": "smollm2-135m",
        "AIWEBCAM_LLM_MAX_TOKENS": "90",
        "AIWEBCAM_AUDIO_INPUT_DEVICE": DEVICE,
        "AIWEBCAM_AUDIO_OUTPUT_DEVICE": DEVICE,
    }
    question = piper_wav(QUESTION, lead_silence_s=0.2, tail_silence_s=0.2)
    interruption = piper_wav(INTERRUPTION, lead_silence_s=0.2, tail_silence_s=0.2)
    speaker = SpeakerMonitor(room)
    noise = subprocess.Popen(["paplay", "--device=micsink", str(background)], env=room) if background else None
    with open(log, "wb") as log_file:
        app = subprocess.Popen([*aiwebcam_cmd, "-v"], env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait(ready.exists, 300, "the models", app, log)
        time.sleep(1.0)  # the microphone stream opens as the models become ready

        subprocess.run(["paplay", "--device=micsink", str(question)], env=room, check=True, timeout=60)
        # the reply plays (with a room, its echo comes back through the microphone all along)
        _wait(lambda: speaker.loud_s() >= loud_s, 180, f"{loud_s} s of the reply", app, log)
        if logged is not None:  # (the story is 90 tokens long: 20 s and more of speech)
            _wait(lambda: logged in log.read_text(errors="replace"), 15, repr(logged), app, log)
        barge_window = speaker.windows().size
        subprocess.run(["paplay", "--device=micsink", str(interruption)], env=room, check=True, timeout=60)

        _wait(lambda: len(_turns(data_dir)) >= 2, 180, "the second turn", app, log)
        # the second reply plays to its end, echo and all, without stopping itself (heard
        # first: the turn is stored before its reply sounds)
        after = speaker.samples
        _wait(lambda: speaker.first_loud_after(after) is not None, 180, "the second reply", app, log)
        second_reply = speaker.first_loud_after(after)
        _wait(lambda: speaker.quiet_since_s(second_reply) >= 3.0, 180, "the second reply to finish playing", app, log)
    finally:
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.kill()
            app.wait()
        speaker.stop()
        if noise is not None:
            noise.terminate()
            noise.wait(timeout=10)
    return TalkedOver(_turns(data_dir), log.read_text(errors="replace"), speaker.windows(), barge_window)


def _check_talked_over_on_speakers(run: TalkedOver) -> None:
    turns, text, barge_window = run.turns, run.log, run.barge_window
    barge_ins = [float(ms) for ms in re.findall(r"barge-in: reply \S+ stopped (\d+) ms after the decision", text)]
    echo = [(float(s), float(db)) for s, db in re.findall(r"echo canceller: ([\d.]+) s of reply, microphone (-?[\d.]+) dB quieter", text)]
    print(f"barge-in: {barge_ins} ms after the VAD decision; echo (s, dB) per reply: {echo}; turns: {[t['user_text'] for t in turns]}")
    assert len(turns) == 2, [t["user_text"] for t in turns]  # the echo started no turn
    first, second = turns
    assert word_error_rate(QUESTION, first["user_text"]) <= MAX_WER, first["user_text"]
    assert first["interrupted"] and first["reply_text"].strip()  # cut to what was heard
    # Its first words were spoken over the reply (double talk): what matters is the question.
    # The echo canceller damps double talk, and on a loaded machine (speaker underruns
    # shift the echo) tiny.en slipped on up to four of its six words: "What is that rule
    # of Italy?", "That is capable of Italy." and "Wait, what is that little bit of?"
    # (AMD, CI). So: the question, whole (not a cut one, "What is the"), not the story's
    # echo ("Tell me a story about..."), not none.
    heard = words(second["user_text"])
    heard = heard[1:] if heard[:1] == ["wait"] else heard
    assert len(heard) >= 5, second["user_text"]  # the whole question, not its start alone
    assert not set(heard) & set(words(QUESTION)) - set(words(QUESTION_ASKED)), second["user_text"]  # no echo
    assert word_error_rate(QUESTION_ASKED, " ".join(heard)) <= 4 / 6 + 1e-9, second["user_text"]
    assert not second["interrupted"] and second["reply_text"].strip()
    assert len(barge_ins) == 1 and barge_ins[0] < 100  # one barge-in: the user's, never the echo's

    # the speaker fell silent while the user was still saying the interruption
    windows = run.speaker_windows
    spoken_s = load_audio(piper_wav(INTERRUPTION, lead_silence_s=0.2, tail_silence_s=0.2)).size / 16000
    after = windows[barge_window : barge_window + int(spoken_s * 10) + 10]
    assert np.any(after <= LOUD), "the first reply kept playing over the user"


def test_hands_free_on_speakers_answers_stops_when_talked_over_and_never_interrupts_itself(room, tmp_path, aiwebcam_cmd):
    """One retry, in a fresh app. On a loaded 2-core machine the double talk was misheard
    ("for the building.", "Wait, what is the path to a little bit of a lake?") and, once,
    the echo leaked after the barge-in and started a turn: 2 of 42 local runs (39 of them
    beside one or two busy processes), 3 of 9 CI runs of the suite. Each attempt checks
    everything: a build that breaks any of it fails both."""
    failures = []
    for attempt in (1, 2):
        run = _talk_over_the_reply(room, tmp_path / f"attempt-{attempt}", aiwebcam_cmd, loud_s=2.5)
        try:
            _check_talked_over_on_speakers(run)
            break
        except AssertionError as exc:
            failures.append(f"attempt {attempt}: {' '.join(str(exc).split())[:300]}")
            print(failures[-1])
            if attempt == 2:
                raise AssertionError("; ".join(failures)) from exc


def test_hands_free_on_headphones_hears_the_first_word_said_over_the_reply(headphones, tmp_path, aiwebcam_cmd):
    """Headphones: the microphone hears the room (-60 dBFS) but never the reply, so once
    the canceller has found that (2 s of the reply, at the soonest) it lets the
    microphone through untouched, and the words said over the reply are heard from the
    first. (Through AEC3 with nothing to cancel, no second turn came in 2 of 2 runs.)"""
    # The words come once the canceller has judged (on a loaded machine its 2 s of
    # audible reply took longer than 3.5 s of the speaker's: CI saw "unknown" here).
    run = _talk_over_the_reply(headphones, tmp_path, aiwebcam_cmd, loud_s=2.0, background=_room_noise(tmp_path), logged="echo path none")
    paths = re.findall(r"echo canceller: [\d.]+ s of reply, .*?echo path (\w+)", run.log)
    print(f"turns: {[t['user_text'] for t in run.turns]}; echo path per reply: {paths}")
    assert len(run.turns) == 2, [t["user_text"] for t in run.turns]
    first, second = run.turns
    assert first["interrupted"] and paths[:1] == ["none"]
    assert first_word_kept(INTERRUPTION, second["user_text"]), second["user_text"]
    assert word_error_rate(INTERRUPTION, second["user_text"]) <= 2 / 7 + 1e-9, second["user_text"]
