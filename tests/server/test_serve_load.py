"""`serve` with real Chromium pages (WebRTC inside a loopback-only network namespace):
a tab closed in the middle of a turn, browsers joining and leaving, 4 pages talking at
once with a fifth refused and garbage from another client. The server runs inside
``tests/server/load_driver.py`` so that it can count what it holds; the figures go to
docs/reliability.md (``benchmarks/long_session.py`` runs the long versions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server.e2e_driver import same_words
from tests.server.test_e2e_browser import _why_not

HERE = Path(__file__).resolve().parent

pytestmark = [pytest.mark.skipif(_why_not() is not None, reason=_why_not() or ""), pytest.mark.timeout(1200)]


def drive(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "result.json"
    inner = f"ip link set lo up && exec {sys.executable} {HERE / 'load_driver.py'} --out {out} {' '.join(args)}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", inner], capture_output=True, text=True, timeout=1150, cwd=HERE.parent.parent, check=False)
    assert done.returncode == 0 and out.exists(), done.stderr[-4000:]
    return json.loads(out.read_text())


def test_a_tab_closed_mid_turn_releases_its_session(tmp_path):
    result = drive(tmp_path, "close-tab", "--rounds", "2")
    before = result["before"]
    for row in result["rounds"]:
        assert row["reply_was_playing"] and row["turn_running"], row  # closed in the middle of the reply
        assert row["released_ms"] is not None, row
        assert row["session_closed"] and row["turn_done"] and row["track_state"] == "ended", row
        assert row["stored_interrupted"] is True, row  # the reply as far as it went, marked
        after = row["after"]
        assert after["sessions"] == 0
        assert after["tasks"] <= before["tasks"], row["tasks_left"]
        assert after["fds"] <= before["fds"] + 1, row
        # nothing accumulates: at most the last closed session's objects are still around
        assert all(count <= 1 for count in row["alive"].values()), row["alive"]
    first, second = (row["after"] for row in result["rounds"])
    # a pool's worker may start later (1-2 more seen in one CI run, cause not pinned down);
    # (a thread kept per session is caught by the 10-join test below, not by these 2 rounds)
    assert second["threads"] <= first["threads"] + 2, result["rounds"]


def test_browsers_joining_and_leaving(tmp_path):
    result = drive(tmp_path, "joins", "--joins", "10")
    series = result["series"]
    assert len(series) == 10 and not result.get("not_released"), result
    base = series[2]  # after the first joins: models' worker threads exist, caches are warm
    for row in series[3:]:
        assert row["sessions"] == 0
        assert row["threads"] <= base["threads"] + 2, series  # bounded, not one per join (see above)
        assert row["fds"] <= base["fds"] + 1, series
        assert row["tasks"] <= base["tasks"], series
    # loose: RSS grew 18-33 % over joins 3-10 in the last runs (typed turns now carry the
    # frame; not yet explained, an open finding in docs/reliability.md); sessions, tasks,
    # threads, fds and objects above are what must not accumulate
    assert series[-1]["rss_mb"] <= base["rss_mb"] * 1.5, series
    assert all(count <= 1 for count in series[-1]["alive"].values()), series[-1]["alive"]


def test_four_pages_talking_at_once(tmp_path):
    """Four pages press Space together and talk over each other (each page's microphone plays
    its own question when it presses: load_driver.FAKE_MIC_JS), three rounds; meanwhile a
    fifth page is refused and another client sends garbage."""
    rounds = 3
    result = drive(tmp_path, "load", "--rounds", str(rounds))
    stuck = [(t.get("stuck_at"), t.get("page_then")) for row in result.get("rounds", []) for t in row["turns"] if t.get("stuck_at")]
    assert not result["errors"], (result["errors"], stuck, result.get("server_session_events"))
    assert result["connected"] == 4
    assert not result["sessions_lost"], result["server_session_events"]  # none of the four dropped meanwhile
    assert result["fifth_state"] == "full" and "Server full" in result["fifth_text"], result["fifth_text"]
    garbage = result["garbage"]
    assert garbage["ws_without_token"] == 401 and "full" in garbage["ws_with_token"], garbage
    assert len(result["rounds"]) == rounds
    for row in result["rounds"]:  # the turns overlapped: all four held Space at the same time
        assert row["all_held_together"] and row["max_holding_at_once"] == 4, row
    places = [page["place"].lower() for page in result["pages"]]
    for page in result["pages"]:
        own = page["place"].lower()
        others = [p for p in places if p != own]
        assert len(page["turns"]) == rounds, page
        # the page shows its own turns, and only them, as its session stored them
        assert page["page_users"] == page["stored_users"], page
        assert len(page["page_replies"]) == rounds, page
        for turn in page["turns"]:
            heard = (turn["transcript"] or "").lower()
            assert own in heard, turn  # its own question, every round
            assert not any(p in heard for p in others), turn  # no other page's words
            assert turn["stored_user"] == turn["transcript"], turn
            # the reply in the page is its own session's stored reply (the small model's
            # answer may name any country: crossed text shows as a mismatch here)
            assert same_words(turn["reply_in_page"], turn["stored_reply"]), turn
            assert turn["release_to_first_audio_ms"] is not None and turn["max_rms_during_reply"] > 0.01, turn
    assert result["after_turns"]["sessions"] == 4  # the garbage disturbed none of the four
    assert result["after"]["sessions"] == 0
