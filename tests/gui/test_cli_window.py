"""``aiwebcam`` as a user runs it: --screenshot writes the window; no display says so."""

from __future__ import annotations

import os
import subprocess

from PySide6.QtGui import QImage


def test_screenshot_writes_a_png_of_the_window(aiwebcam_cmd, tmp_path):
    out = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([*aiwebcam_cmd, "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1280, 800)


def test_without_a_display_it_says_so_and_points_to_the_terminal(aiwebcam_cmd):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run(aiwebcam_cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display" in lines[0] and "aiwebcam ask" in lines[0]


def test_unknown_conversation_is_one_clear_line(aiwebcam_cmd):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([*aiwebcam_cmd, "--conversation", "no-such-id"], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["aiwebcam: error: no saved conversation 'no-such-id': 'aiwebcam history' lists them"]
