"""A long session in one process, shortened for CI: 40 turns through the engine's one
capture path (spoken push-to-talk, hands-free, typed, cancels), real models (SmolLM2).
The 200-turn figures come from ``benchmarks/long_session.py --turns 200``."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.timeout(1500)

TURNS = 40


def test_forty_turns_leave_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("AIWEBCAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AIWEBCAM_CONFIG_DIR", str(tmp_path / "config"))
    from benchmarks.long_session import KINDS, run

    result = asyncio.run(run(TURNS, "smollm2-135m"))
    print({k: v for k, v in result.items() if k != "rows"})
    assert not result["unfinished"], result["unfinished"]
    assert all(result["kinds"][kind] == TURNS // len(KINDS) for kind in KINDS), result["kinds"]
    assert result["interrupted"] >= TURNS // len(KINDS)  # the cancels did cut their replies
    rows = result["rows"]
    # every turn that reached the model is stored, and only those
    assert result["file"]["loaded_turns"] == result["stored_turns"] >= TURNS * 3 // 5, result["file"]
    after = rows[19]
    for row in rows[20:]:
        assert row["threads"] <= after["threads"] + 1, [r["threads"] for r in rows]
        assert row["fds"] <= after["fds"] + 2, [r["fds"] for r in rows]
    assert result["rss_growth_percent"] <= 10, result["rss_growth_percent"]  # loose; the report has the 200-turn figure
    window = result["window"]
    assert "error" not in window, window
    assert window["entries"] == result["stored_turns"]
