"""Fixtures for the fault tests: a real llama.cpp OpenAI-compatible server on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from desktop_app.config import AppPaths, Settings
from tests.llama_server import MODEL_NAME, LlamaServer, llama_server_running


@pytest.fixture(scope="module")
def _llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server_running(tmp_path_factory.mktemp("llama-server") / "server.log") as server:
        yield server


@pytest.fixture
def llama_server(_llama_server: LlamaServer) -> LlamaServer:
    """The module's server, running (a test that killed it may have left it down)."""
    if not _llama_server.running:
        _llama_server.start()
    return _llama_server


def openai_settings(base_url: str, **overrides) -> Settings:
    """The user's settings for a remote OpenAI-compatible chat server; speech stays local."""
    values = dict(
        llm_provider="openai",
        llm_base_url=base_url,
        llm_model=MODEL_NAME,
        llm_max_tokens=60,
        llm_temperature=0.0,
        smart_turn=False,
    )
    values.update(overrides)
    return Settings(**values)


def openai_env(base_url: str, max_tokens: int = 60) -> dict[str, str]:
    """The same, as environment for ``aiwebcam`` subprocesses."""
    return {
        "AIWEBCAM_LLM_PROVIDER": "openai",
        "AIWEBCAM_LLM_BASE_URL": base_url,
        "AIWEBCAM_LLM_MODEL": MODEL_NAME,
        "AIWEBCAM_LLM_MAX_TOKENS": str(max_tokens),
        "AIWEBCAM_LLM_TEMPERATURE": "0",
    }


def app_paths() -> AppPaths:
    return AppPaths.from_env()  # tests/conftest.py points config and data at tmp


def data_dir() -> Path:
    return app_paths().data_dir
