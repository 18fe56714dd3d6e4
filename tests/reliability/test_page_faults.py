"""Chat endpoint faults as the browser page shows them: real Chromium, real WebRTC in a
loopback-only network namespace, the real llama.cpp OpenAI-compatible server killed in
the middle of a reply, and an endpoint whose first token would come after 20 s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.page_faults_driver import AFTER, LONG_QUESTION
from tests.server.test_e2e_browser import _why_not

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.skipif(_why_not() is not None, reason=_why_not() or ""), pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def shown(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("page-faults") / "result.json"
    inner = f"ip link set lo up && exec {sys.executable} {HERE / 'page_faults_driver.py'} --out {out}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", inner], capture_output=True, text=True, timeout=1140, cwd=HERE.parent.parent)
    assert done.returncode == 0 and out.exists(), done.stderr[-4000:]
    return json.loads(out.read_text())


def test_the_page_shows_one_line_when_the_llm_server_dies_and_the_next_turn_works(shown):
    killed = shown["killed"]
    line = f"the chat endpoint at {killed['endpoint']} closed the connection in the middle of the reply; the reply is cut short"
    cut = killed["cut"]
    assert "failed" in cut["classes"] and cut["tags"] == [line], killed  # one line, on the reply it cut
    assert len(cut["text"]) >= 30, killed  # the words that came before the cut stay in the page
    after = killed["after"]
    assert after["text"].strip() and "failed" not in after["classes"] and not after["tags"], killed
    stored = killed["stored"]
    assert [t["user_text"] for t in stored] == [LONG_QUESTION, AFTER], stored
    assert stored[0]["interrupted"] and stored[0]["error"] == line, stored  # the partial reply is kept
    assert stored[0]["reply_text"] and not stored[1]["error"], stored


def test_the_page_says_it_waits_for_a_slow_model_and_cancel_ends_it_at_once(shown):
    slow = shown["slow"]
    assert slow["waiting_toast"].startswith("Waiting for the model (openai slow-model): no reply yet after"), slow
    assert "interrupted" in slow["cancelled"]["classes"] and slow["cancelled"]["tags"] == ["Interrupted"], slow
    assert not slow["cancel_enabled_after"], slow
    # "at once": the endpoint would have answered after 20 s; the page was idle, and the
    # request hung up, well before (a bound ten times looser than the usual figure)
    assert slow["cancel_to_idle_ms"] < 5000 and slow["endpoint_hung_up_ms"] is not None and slow["endpoint_hung_up_ms"] < 5000, slow
    assert slow["endpoint_completed"] == 0, slow
