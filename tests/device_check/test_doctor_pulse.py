"""``aiwebcam doctor`` on real sound devices: a private PulseAudio with null sinks.

The doctor runs as a subprocess, as a user runs it. Its microphone is the "mic" source
(a remap of the "micsink" monitor: the test "talks" by playing speech into micsink with
paplay when the doctor asks); its speaker the "speaker" sink, whose monitor the test
records. A loopback from the speaker into the microphone is a laptop's room echo.
"""

from __future__ import annotations

import re
import subprocess
import time

import numpy as np
import pytest

from tests.device_check.doctor_run import run_doctor
from tests.media.pulse import LOUD, SpeakerMonitor, private_pulse, skip_reason
from tests.speech import piper_wav

SPOKEN = "Testing my microphone, one two three."


@pytest.fixture(autouse=True)
def _pulse_installed():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)


def _has_tone(pcm: np.ndarray, frequency: float, rate: int = 16000) -> bool:
    """Some loud half second of ``pcm`` whose strongest frequency is ``frequency``."""
    size = rate // 2
    for start in range(0, pcm.size - size, size // 2):
        window = pcm[start : start + size]
        if np.sqrt(np.mean(np.square(window))) < LOUD:
            continue
        spectrum = np.abs(np.fft.rfft(window * np.hanning(size)))
        if abs(np.argmax(spectrum) * rate / size - frequency) <= 4:
            return True
    return False


def test_all_checks_pass_on_speakers_with_room_echo(tmp_path):
    speech = piper_wav(SPOKEN)
    with private_pulse(tmp_path, echo_volume=0.35, echo_latency_ms=40) as env:
        env = {**env, "AIWEBCAM_LLM_MODEL": "smollm2-135m", "AIWEBCAM_DATA_DIR": str(tmp_path / "data"), "AIWEBCAM_CONFIG_DIR": str(tmp_path / "config")}
        monitor = SpeakerMonitor(env)
        talking = []

        def on_line(line: str) -> None:  # the user talks when asked to
            if "say something now" in line:
                talking.append(subprocess.Popen(["paplay", "--device=micsink", str(speech)], env=env))

        try:
            run = run_doctor(["--only", "mic,speaker,echo,turn"], env, on_line)
        finally:
            heard = monitor.audio()
            monitor.stop()
            for proc in talking:
                proc.wait(timeout=30)
    print(run.text)
    assert run.returncode == 0, run.text
    assert talking, run.text
    assert run.result("microphone").startswith("[PASS]")
    assert run.figures("microphone")["loudest_dbfs"] > -30.0  # the speech, not the noise floor
    assert "played back on the speaker" in run.result("microphone")
    assert run.result("speaker").startswith("[PASS]")
    assert _has_tone(heard, 440.0), "the test tone never reached the speaker"
    echo = run.result("echo")
    assert echo.startswith("[PASS]") and "the echo canceller removes" in echo
    assert run.figures("echo")["echo_dbfs"] > run.figures("echo")["background_dbfs"] + 20  # the echo was really there
    assert run.figures("echo")["removed_db"] >= 15.0
    turn = run.result("spoken turn")
    assert turn.startswith("[PASS]")
    for part in ("ASR", "first token", "first audio", "voice-to-voice", "played on the speaker"):
        assert part in turn, turn
    assert "capital of france" in turn.lower()
    # the speaker carried the recording played back, the tone, the phrase and the reply
    loud_s = float(np.sum(np.sqrt(np.mean(np.square(heard[: heard.size // 1600 * 1600].reshape(-1, 1600)), axis=1)) > LOUD)) * 0.1
    assert loud_s >= 6.0, loud_s
    assert run.lines[-2].startswith("doctor: PASS")


def test_the_speaker_monitor_as_microphone_is_all_echo(tmp_path):
    """The microphone hears exactly what the speaker plays: the canceller's figure is reported."""
    with private_pulse(tmp_path) as env:
        env = {**env, "PULSE_SOURCE": "speaker.monitor"}  # libpulse's default source for this client
        run = run_doctor(["--only", "echo"], env)
    print(run.text)
    line = run.result("echo")
    figures = run.figures("echo")
    assert figures["echo_dbfs"] > -40.0, line  # the phrase itself, at full level
    assert re.search(r"the echo canceller removes -?\d+\.\d dB", line), line
    assert (figures["removed_db"] >= 15.0) == line.startswith("[PASS]"), line
    assert line.startswith("[FAIL]") == ("use headphones" in line), line


def test_a_silent_microphone_fails_with_its_fix(tmp_path):
    with private_pulse(tmp_path) as env:
        run = run_doctor(["--only", "mic,echo", "--seconds", "1"], env)
    print(run.text)
    assert run.returncode == 1
    mic = run.result("microphone")
    assert mic.startswith("[FAIL]") and "records silence" in mic and "-> fix: unmute the microphone" in mic
    assert run.result("echo").startswith("[SKIP]")
    assert run.lines[-2].startswith("doctor: FAIL (1 of 2 checks failed: microphone)")


def test_a_missing_microphone_is_one_line(tmp_path):
    with private_pulse(tmp_path) as env:
        run = run_doctor(["--only", "mic,speaker", "--input", "no-such-mic"], env)
    print(run.text)
    assert run.returncode == 1
    mic = run.result("microphone")
    assert mic == (
        "[FAIL] microphone: no microphone named 'no-such-mic' (found: pulse, default) "
        "-> fix: plug it in, or pick another microphone in Settings > Devices and keys"
    )
    assert run.result("speaker").startswith("[PASS]")
    assert "Traceback" not in run.stderr and "Traceback" not in run.text


def test_a_microphone_that_vanishes_while_recording_is_one_line(tmp_path):
    with private_pulse(tmp_path) as env:
        pulled = []

        def on_line(line: str) -> None:
            # The sound server drops its clients while the doctor records (PulseAudio moves a
            # stream whose source is unloaded to another source, so that is no vanishing).
            if "say something now" in line:
                time.sleep(1.0)  # recording for a second
                pulled.append(subprocess.run(["pactl", "unload-module", "module-native-protocol-unix"], env=env, capture_output=True).returncode)

        run = run_doctor(["--only", "mic", "--seconds", "8"], env, on_line)
    print(run.text)
    assert pulled == [0]
    assert run.returncode == 1
    mic = run.result("microphone")
    assert mic.startswith("[FAIL] microphone: the microphone stopped delivering audio after"), mic
    assert "Traceback" not in run.stderr


def test_no_sound_server_is_one_line_per_check(tmp_path):
    """PortAudio finds no usable device (the sound server is not running)."""
    import os

    env = {**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-such-socket"}
    run = run_doctor(["--only", "mic,speaker,echo"], env)
    print(run.text)
    assert run.returncode == 1
    for name in ("microphone", "speaker", "echo"):
        line = run.result(name)
        assert line.startswith(f"[FAIL] {name}: ") and " -> fix: " in line, line
    assert "Traceback" not in run.stderr
