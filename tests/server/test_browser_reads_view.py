"""The browser's frame takes the window's path: a phone camera pointed at a page works
offline. Real Chromium (fake camera playing a still of an error message), real WebRTC in
a loopback-only network namespace, the default text-only model, the app's OCR."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pictures import ERROR_CODE
from tests.server.e2e_driver import same_words
from tests.server.test_e2e_browser import _why_not

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.skipif(_why_not() is not None, reason=_why_not() or ""), pytest.mark.timeout(900)]


def test_a_phone_camera_pointed_at_a_page_is_read(tmp_path):
    out = tmp_path / "result.json"
    inner = f"ip link set lo up && exec {sys.executable} {HERE / 'view_text_driver.py'} --out {out}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", inner], capture_output=True, text=True, timeout=840, cwd=HERE.parent.parent)
    assert done.returncode == 0 and out.exists(), done.stderr[-4000:]
    result = json.loads(out.read_text())
    assert result["video_frames"] >= 30
    assert result["view"].startswith("camera: text"), result  # the model got the page's text, as text
    assert ERROR_CODE in result["view_text"], result["view_text"]
    assert ERROR_CODE in result["reply"].replace(",", ""), result["reply"]
    assert same_words(result["reply_in_page"], result["reply"]), result  # the page renders the markdown
