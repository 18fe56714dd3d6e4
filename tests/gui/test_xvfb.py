"""The real window on a real X server (Xvfb, Qt's xcb platform), not the offscreen one."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage


def _free_display() -> int:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return number
    pytest.skip("no free X display number between :90 and :139")


@pytest.fixture
def xvfb_display():
    exe = shutil.which("Xvfb")
    if exe is None:
        pytest.skip("Xvfb is not installed (Debian: xvfb; scripts/setup.sh --test installs it)")
    number = _free_display()
    proc = subprocess.Popen([exe, f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not Path(f"/tmp/.X11-unix/X{number}").exists():
            if proc.poll() is not None:
                pytest.skip(f"Xvfb did not start: {proc.stderr.read().decode(errors='replace').strip()[:200]}")
            assert time.monotonic() < deadline, "Xvfb did not create its socket"
            time.sleep(0.1)
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _variance(image: QImage) -> float:
    """Variance of grey levels over a grid of samples (0 for a blank picture)."""
    values = []
    for y in range(0, image.height(), 8):
        for x in range(0, image.width(), 8):
            c = image.pixelColor(x, y)
            values.append((c.red() + c.green() + c.blue()) / 3)
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def test_window_renders_under_xvfb(aiwebcam_cmd, xvfb_display, tmp_path):
    out = tmp_path / "xvfb.png"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = xvfb_display
    result = subprocess.run([*aiwebcam_cmd, "--screenshot", str(out)], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "xcb" not in result.stderr.lower() or "could not" not in result.stderr.lower(), result.stderr[-2000:]
    image = QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (1280, 800)
    assert _variance(image) > 100, "the screenshot is blank"
    keep = os.environ.get("KEEP_XVFB_SCREENSHOT")
    if keep:
        shutil.copy(out, keep)
