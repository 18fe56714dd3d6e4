"""``aiwebcam doctor`` options and its camera/screen check, run as a subprocess (Qt offscreen)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from PySide6.QtGui import QImage

from tests.device_check.doctor_run import DoctorRun, aiwebcam, run_doctor


def test_an_unknown_check_names_the_valid_ones():
    proc = subprocess.run([*aiwebcam(), "doctor", "--only", "mic,bogus"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "unknown check 'bogus' (choose from mic, speaker, echo, camera, turn)" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_screen_check_measures_frames_and_saves_a_preview(tmp_path):
    """A real X display (Xvfb) with nothing on it: frames at the screen source's rate, a blank picture."""
    if shutil.which("xvfb-run") is None:
        pytest.skip("xvfb-run is not installed (Debian: xvfb)")
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"}
    preview = tmp_path / "frame.png"
    proc = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1024x768x24", *aiwebcam(), "doctor", "--only", "screen", "--video", "screen", "--preview", str(preview), "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    run = DoctorRun(proc.returncode, proc.stdout.splitlines(), proc.stderr)
    print(run.text)
    line = run.result("camera/screen")
    assert line.startswith("[PASS] camera/screen: Screen:") and "1024x768 at" in line, line
    assert "the screen is blank" in line  # Xvfb's root window is black
    figures = run.figures("camera/screen")
    assert 1.0 <= figures["fps"] <= 30.0 and (figures["width"], figures["height"]) == (1024, 768)
    image = QImage(str(preview))
    assert not image.isNull() and image.width() == 480 and image.pixelColor(240, 180).name() == "#000000"
    assert run.returncode == 0


def test_without_a_display_or_camera_the_video_check_is_skipped():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    run = run_doctor(["--only", "camera"], env)
    print(run.text)
    line = run.result("camera/screen")
    if line.startswith("[SKIP]"):  # this machine has no camera
        assert line == "[SKIP] camera/screen: no camera, and no display to capture (run the check in a desktop session to see the screen)"
        assert run.returncode == 0 and run.lines[-2] == "doctor: PASS (0 passed, 1 skipped)"
    else:
        assert line.startswith("[PASS] camera/screen: Camera:"), line


def test_asking_for_a_camera_where_there_is_none_is_one_line():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = run_doctor(["--only", "camera", "--video", "camera"], env)
    print(run.text)
    line = run.result("camera/screen")
    if line.startswith("[FAIL]"):  # this machine has no camera
        assert line == "[FAIL] camera/screen: no camera found -> fix: connect a camera (and check no other program uses it), or pick a screen as the source"
        assert run.returncode == 1
    else:
        assert line.startswith("[PASS] camera/screen: Camera:"), line
    assert "Traceback" not in run.stderr
