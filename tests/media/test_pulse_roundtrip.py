"""Real sound devices: sounddevice playback and capture through a private PulseAudio.

A private daemon (its own runtime dir and home, a unix socket in tmp) gets two null
sinks: "speaker" (what the app plays into; its .monitor is recorded with parecord) and
"micsink" (fed with paplay), whose monitor is remapped into the capture device "mic".
The app's own SpeakerSink and Microphone reach them through the ALSA "pulse" device
(libasound2-plugins), in a subprocess whose environment points at the daemon. Whisper
then checks the words: content, not timing (null sinks run in loose real time).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from desktop_app.config import AppPaths
from desktop_app.media.audio_file import load_audio
from tests.conftest import ROOT
from tests.media.pulse import private_pulse, skip_reason
from tests.speech import piper_wav, word_error_rate, words

MAX_WER = 0.25


@pytest.fixture
def pulse(tmp_path):
    """A private PulseAudio daemon with a speaker and a microphone; yields the client env."""
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with private_pulse(tmp_path) as env:
        yield env


def _client(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.media.pulse_client", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@contextlib.contextmanager
def _speaker_recorded(env: dict, recording: Path) -> Iterator[Path]:
    """The speaker's monitor recorded into ``recording`` (a WAV) while the block runs."""
    recorder = subprocess.Popen(
        ["parecord", "--device=speaker.monitor", "--file-format=wav", "--rate=16000", "--channels=1", str(recording)],
        env=env, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        time.sleep(1.0)  # the recorder is connected before the first sample plays
        yield recording
    finally:
        recorder.send_signal(signal.SIGINT)  # parecord finishes the WAV header on SIGINT
        recorder.wait(timeout=30)


def _transcribe(pcm: np.ndarray) -> str:
    from desktop_app.backends.asr.whisper_local import WhisperRecognizer

    async def go() -> str:
        asr = WhisperRecognizer("tiny.en", AppPaths.from_env().models_dir)
        await asr.load()
        try:
            return (await asr.transcribe(pcm)).text
        finally:
            await asr.aclose()

    return asyncio.run(go())


def _active_rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(pcm)))) if pcm.size else 0.0


def test_speaker_sink_plays_piper_opus_into_a_real_device(pulse, tmp_path):
    text = "The quick brown fox jumps over the lazy dog."
    with _speaker_recorded(pulse, tmp_path / "speaker.wav") as recording:
        player = _client(pulse, "play", text)
        out, err = player.communicate(timeout=600)
        assert player.returncode == 0, err[-2000:]
        assert "played" in out
    pcm = load_audio(recording)
    assert pcm.size > 16000 and _active_rms(pcm) > 0.01, "nothing audible reached the speaker"
    heard = _transcribe(pcm)
    assert word_error_rate(text, heard) <= MAX_WER, heard


def test_an_idle_speaker_sleeps_and_the_next_reply_wakes_it_whole(pulse, tmp_path):
    """An idle output stream costs ~1.5 % of a core (a callback every 20 ms playing
    silence): it stops when idle, and the next reply restarts it without losing its start."""
    # "Paris" is not used: tiny.en int8 on AMD hears it as "Caris" even from the clip itself
    first, second = "The first reply is short.", "Good evening, the lights are on now."
    with _speaker_recorded(pulse, tmp_path / "speaker.wav") as recording:
        player = _client(pulse, "play-after-sleep", first, second)
        out, err = player.communicate(timeout=600)
        assert player.returncode == 0, err[-2000:]
    assert "asleep True alive True callbacks_while_asleep False" in out, out
    assert "wakes 1 alive True" in out, out
    pcm = load_audio(recording)
    loud = np.flatnonzero(np.abs(pcm) > 0.02)
    assert loud.size, "nothing audible reached the speaker"
    # the second reply: from the first loud sample after a pause of more than a second
    gaps = np.flatnonzero(np.diff(loud) > 16000)
    assert gaps.size >= 1, "the two replies were not apart"
    start = loud[gaps[-1] + 1]
    assert word_error_rate(first, _transcribe(pcm[: loud[gaps[-1]] + 1600])) <= MAX_WER
    heard = _transcribe(pcm[max(0, start - 1600) :])
    assert word_error_rate(second, heard) <= MAX_WER, heard
    assert words(heard)[:2] == ["good", "evening"], heard  # the wake did not cost its start


def test_microphone_captures_speech_from_a_real_device(pulse, tmp_path):
    text = "Please open the window and water the plants."
    wav = piper_wav(text, lead_silence_s=0.5, tail_silence_s=0.5)
    seconds = len(load_audio(wav)) / 16000
    out_file = tmp_path / "mic.npy"
    recorder = _client(pulse, "record", str(seconds + 4.0), str(out_file))
    try:
        line = recorder.stdout.readline()
        assert line.strip() == "recording", line + recorder.stderr.read()[-2000:]
        time.sleep(0.5)
        subprocess.run(["paplay", "--device=micsink", str(wav)], env=pulse, check=True, timeout=120)
        out, err = recorder.communicate(timeout=600)
        assert recorder.returncode == 0, err[-2000:]
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    pcm = np.load(out_file)
    assert pcm.dtype == np.float32 and pcm.size > 16000 * seconds * 0.8
    assert _active_rms(pcm) > 0.005, "the microphone heard nothing"
    heard = _transcribe(pcm)
    assert word_error_rate(text, heard) <= MAX_WER, heard
