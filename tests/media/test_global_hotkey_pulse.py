"""The push-to-talk key as a global hotkey, in the real app under Xvfb on PulseAudio devices.

Another application's window (a text box) has the focus. F9 goes down with ``xdotool
keydown``, a spoken question plays into the microphone, F9 comes up: the app answers
the turn although it never had the focus, the other window keeps the focus and still
types what the user types there, and F9 never reaches it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from contextlib import ExitStack

import pytest

from tests.media.pulse import window_skip_reason
from tests.speech import piper_wav, word_error_rate

QUESTION = "What is the capital of France?"
MAX_WER = 0.35

# Another application: a window with a text box that takes the focus and saves what is typed.
OTHER_APP = r"""
import sys
from PySide6.QtWidgets import QApplication, QLineEdit
app = QApplication([])
box = QLineEdit()
box.setWindowTitle("Notes - another application")
box.resize(400, 60)
box.move(700, 500)
box.textChanged.connect(lambda text: open(sys.argv[1], "w").write(text))
box.show()
app.exec()
"""


def test_global_push_to_talk_works_while_another_window_has_the_focus(tmp_path):
    reason = window_skip_reason()
    if reason:
        pytest.skip(reason)
    from benchmarks.faces import _last_turn, _turn_count, _wait, _xvfb, app_env, launch_app
    from tests.media.pulse import private_pulse

    data_dir, ready, typed = tmp_path / "data", tmp_path / "ready", tmp_path / "typed.txt"
    wav = piper_wav(QUESTION, lead_silence_s=0.5, tail_silence_s=0.5)
    with ExitStack() as stack:
        display = _xvfb(stack)
        (tmp_path / "pulse").mkdir()
        pulse_env = stack.enter_context(private_pulse(tmp_path / "pulse"))
        env = app_env(pulse_env, display, tmp_path / "config", data_dir, ready, {
            "AIWEBCAM_LLM_PROVIDER": "embedded",
            "AIWEBCAM_LLM_MODEL": "smollm2-135m",
            "AIWEBCAM_LLM_MAX_TOKENS": "40",
            "AIWEBCAM_PUSH_TO_TALK_KEY": "F9",
            "AIWEBCAM_PUSH_TO_TALK_GLOBAL": "true",
        })  # fmt: skip
        app = launch_app(stack, env, tmp_path / "app.log")
        other = subprocess.Popen([sys.executable, "-c", OTHER_APP, str(typed)], env=env)
        stack.callback(lambda: (other.terminate(), other.wait(timeout=10)))
        assert _wait(ready.exists, 600, "the models", app), "the app did not get ready"

        def xdo(*args: str) -> str:
            return subprocess.run(["xdotool", *args], env=env, check=True, capture_output=True, text=True).stdout.strip()

        notes = xdo("search", "--sync", "--name", "Notes").split()[0]
        xdo("windowfocus", "--sync", notes)
        time.sleep(1.0)
        assert xdo("getwindowfocus") == notes  # the app does not have the focus
        xdo("type", "--delay", "50", "hello")
        assert _wait(lambda: typed.exists() and typed.read_text() == "hello", 10, "the typing", app), "the other app lost its keys"

        xdo("keydown", "F9")
        time.sleep(0.3)
        subprocess.run(["paplay", "--device=micsink", str(wav)], env=pulse_env, check=True, timeout=60)
        xdo("keyup", "F9")
        assert _wait(lambda: _turn_count(data_dir) >= 1 and _last_turn(data_dir).get("reply_text"), 180, "the turn", app), (
            "no turn from the global key: " + (tmp_path / "app.log").read_text(errors="replace")[-3000:]
        )
        turn = _last_turn(data_dir)
        assert word_error_rate(QUESTION, turn["user_text"]) <= MAX_WER, turn["user_text"]
        assert xdo("getwindowfocus") == notes  # it kept the focus
        assert typed.read_text() == "hello"  # F9 (and its autorepeat) never reached it
        assert "global hotkey: F9 grabbed" in (tmp_path / "app.log").read_text(errors="replace")


def test_the_global_key_is_refused_with_one_line_where_it_cannot_work(monkeypatch):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (scripts/setup.sh --test installs it)")
    from benchmarks.faces import _xvfb
    from desktop_app.gui.global_hotkey import GlobalHotkey

    with ExitStack() as stack:
        monkeypatch.setenv("DISPLAY", _xvfb(stack))
        monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        hotkey, other = GlobalHotkey(), GlobalHotkey()
        assert "types in other applications" in hotkey.start("Space")  # it would stop every app typing spaces
        assert not hotkey.active
        assert hotkey.start("F9") is None and hotkey.active
        assert "another application holds it" in other.start("F9")  # X grants one grab per key
        hotkey.stop()
        assert not hotkey.active
        assert other.start("F9") is None  # released: the next one gets it
        other.stop()

    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.delenv("DISPLAY")
    assert "Wayland" in GlobalHotkey().start("F9")
