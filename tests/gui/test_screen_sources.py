"""Screen sources on a real X server (Xvfb): the whole screen with the app's own windows
hidden, and a region; read with the app's OCR as a turn would read them."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from desktop_app.backends.ocr.rapid_ocr import RapidTextReader
from tests.gui.test_xvfb import xvfb_display  # noqa: F401  (fixture)

SCRIPT = Path(__file__).with_name("screen_grab_script.py")
ROOT = Path(__file__).resolve().parents[2]


def _read(path: Path) -> str:
    out = io.BytesIO()
    Image.open(path).convert("RGB").save(out, format="JPEG", quality=90)
    reader = RapidTextReader()
    try:
        return asyncio.run(reader.read(out.getvalue()))
    finally:
        reader._thread.shutdown()


def test_the_ai_reads_other_windows_never_its_own(xvfb_display, tmp_path):  # noqa: F811
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update({"DISPLAY": xvfb_display, "PYTHONPATH": str(ROOT)})
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

    unmasked = _read(tmp_path / "unmasked.png")
    assert "7777" in unmasked and "4291" in unmasked  # both are on the screen

    screen = _read(tmp_path / "screen.png")
    assert "4291" in screen and "upload" in screen
    assert "7777" not in screen and "TRANSCRIPT" not in screen  # the app's own window is hidden

    region = Image.open(tmp_path / "region.png")
    assert region.size == (640, 400)
    text = _read(tmp_path / "region.png")
    assert "4291" in text and "7777" not in text
