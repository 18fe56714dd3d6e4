"""The microphone unplugged mid-utterance, the speaker unplugged mid-reply: the real app.

The app (``aiwebcam``) runs in a real window under Xvfb on a private PulseAudio daemon
(``tests/media/pulse.py``); push-to-talk is Space sent with xdotool, the question is
speech played into the microphone. A device is unplugged by unloading its module
(``pulse.unplug``): PulseAudio would move the app's stream to the device left (as a
laptop falls back to its built-in speaker), so the stream it moved is killed too, and
the app is pinned to its devices (``PULSE_SOURCE=mic``, ``PULSE_SINK=speaker``), so
that reopening cannot land on another one: the device is gone for the app. What the
user sees is read off the screen: the status bar, by OCR of a screenshot.

Each case: one line in the status bar, no hang (the turn ends, the window answers),
and recovery once the device is back (``pulse.plug``): the next spoken turn is
transcribed and its reply is heard at the speaker.
"""

from __future__ import annotations

import subprocess
import time
from contextlib import ExitStack

import numpy as np
import pytest

from tests.media.pulse import MIC_MODULE, SPEAKER_MODULE, SpeakerMonitor, plug, private_pulse, unplug, window_skip_reason
from tests.speech import piper_wav, word_error_rate

QUESTION = "Tell me a long story about a lighthouse keeper and the sea."
MAX_WER = 0.35


class Window:
    def __init__(self, stack: ExitStack, work) -> None:
        from benchmarks.faces import _xvfb, start_window

        self.display = _xvfb(stack, "1920x1080x24")  # the whole status bar on screen
        self.pulse_env = stack.enter_context(private_pulse(work))
        self.speaker = SpeakerMonitor(self.pulse_env)
        stack.callback(lambda: self.speaker.stop())
        self.work = work
        self.data = work / "data"
        self.log = work / "app.log"
        pinned = {"PULSE_SOURCE": "mic", "PULSE_SINK": "speaker", "AIWEBCAM_LLM_MAX_TOKENS": "200"}
        self.env, self.app = start_window(stack, self.display, self.pulse_env, work, self.data, work / "ready", self.log,
                                          False, pinned, "smollm2-135m")  # fmt: skip
        self.question = piper_wav(QUESTION)

    def turns(self) -> int:
        from benchmarks.faces import _turn_count

        return _turn_count(self.data)

    def wait(self, condition, timeout_s: float, what: str) -> bool:
        from benchmarks.faces import _wait

        return _wait(condition, timeout_s, what, self.app)

    def press(self) -> None:
        subprocess.run(["xdotool", "keydown", "space"], env=self.env, check=True)
        time.sleep(0.3)

    def release(self) -> None:
        subprocess.run(["xdotool", "keyup", "space"], env=self.env, check=True)

    def say(self) -> subprocess.Popen:
        return subprocess.Popen(["paplay", "--device=micsink", str(self.question)], env=self.pulse_env)

    def status_bar(self) -> str:
        """The status bar's words, as OCR reads them (lower case, no spaces)."""
        from PIL import ImageGrab
        from rapidocr_onnxruntime import RapidOCR

        if not hasattr(self, "_ocr"):
            self._ocr = RapidOCR(intra_op_num_threads=1)
        shot = ImageGrab.grab(xdisplay=self.display).convert("RGB")
        shot.save(self.work / "last-screen.png")  # what was read last, for a failure
        # the window (not black) on the black screen: its status bar is its last 36 px
        pixels = np.asarray(shot)
        rows = np.flatnonzero(pixels.max(axis=(1, 2)) > 0)
        cols = np.flatnonzero(pixels.max(axis=(0, 2)) > 0)
        if not rows.size:
            return ""
        strip = shot.crop((int(cols[0]), int(rows[-1]) + 1 - 36, int(cols[-1]) + 1, int(rows[-1]) + 1))
        found, _ = self._ocr(np.asarray(strip)[:, :, ::-1])
        return " ".join(text for _, text, _ in found or []).lower().replace(" ", "")

    def wait_status(self, words: str, timeout_s: float) -> str:
        wanted = words.lower().replace(" ", "")
        deadline = time.monotonic() + timeout_s
        seen = ""
        while time.monotonic() < deadline:
            seen = self.status_bar()
            if wanted in seen:
                return seen
            time.sleep(0.5)
        return seen

    def spoken_turn(self) -> dict:
        """A whole push-to-talk turn; the stored turn."""
        from benchmarks.faces import _last_turn

        before = self.turns()
        self.press()
        self.say().wait(timeout=60)
        self.release()
        assert self.wait(lambda: self.turns() > before, 120, "the turn"), "no turn after the device came back"
        return _last_turn(self.data)


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    reason = window_skip_reason()
    if reason:
        pytest.skip(reason)
    with ExitStack() as stack:
        yield Window(stack, tmp_path_factory.mktemp("unplugged"))


def test_microphone_unplugged_mid_utterance(window):
    window.press()
    speech = window.say()
    time.sleep(1.0)  # the first words are in
    killed = unplug(window.pulse_env, MIC_MODULE)
    assert killed, "the app had no stream on the microphone"
    speech.wait(timeout=60)
    window.release()
    seen = window.wait_status("the microphone is gone", 30)
    assert "themicrophoneisgone" in seen, seen
    assert window.app.poll() is None
    plug(window.pulse_env, MIC_MODULE)
    turn = window.spoken_turn()  # talking again opens the microphone that came back
    assert word_error_rate(QUESTION, turn["user_text"]) <= MAX_WER, turn
    assert turn["reply_text"], turn


def test_speaker_unplugged_mid_reply(window):
    before = window.turns()
    heard_before = window.speaker.loud_s()
    window.press()
    window.say().wait(timeout=60)
    window.release()
    assert window.wait(lambda: window.speaker.loud_s() - heard_before > 1.0, 120, "the reply at the speaker")
    killed = unplug(window.pulse_env, SPEAKER_MODULE)
    assert killed, "the app had no stream on the speaker"
    seen = window.wait_status("the speaker is gone", 30)
    assert "thespeakerisgone" in seen, seen
    assert window.wait(lambda: window.turns() > before, 120, "the reply to end"), "the turn never ended"
    # the device comes back: the next reply is heard on it
    window.speaker.stop()  # its monitor went with it (PulseAudio moved the recording elsewhere)
    plug(window.pulse_env, SPEAKER_MODULE)
    window.speaker = SpeakerMonitor(window.pulse_env)
    seen = window.wait_status("speaker ready", 30)
    assert "speakerready" in seen, seen
    turn = window.spoken_turn()
    assert word_error_rate(QUESTION, turn["user_text"]) <= MAX_WER, turn
    assert window.wait(lambda: window.speaker.loud_s() > 1.0, 60, "the reply at the speaker that came back"), "no sound"
