"""Shared fixtures. Every test gets its own config and data dirs (never the user's)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config and data at tmp; keep the model cache shared (assembly is costly)."""
    monkeypatch.setenv("AIWEBCAM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AIWEBCAM_DATA_DIR", str(tmp_path / "data"))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL"):
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith("AIWEBCAM_") and var not in ("AIWEBCAM_CONFIG_DIR", "AIWEBCAM_DATA_DIR", "AIWEBCAM_CACHE_DIR"):
            monkeypatch.delenv(var, raising=False)
    return tmp_path


@pytest.fixture
def aiwebcam_cmd() -> list[str]:
    """The installed console script, run as a user would."""
    exe = Path(sys.executable).with_name("aiwebcam")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "desktop_app"]
