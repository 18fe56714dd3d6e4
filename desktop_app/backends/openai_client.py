"""One place that builds ``openai.AsyncOpenAI`` clients for any OpenAI-compatible server."""

from __future__ import annotations

import openai

from desktop_app.errors import ConfigError

# Local servers (Ollama, llama.cpp, vLLM) accept any key; the client needs a non-empty one.
_LOCAL_PLACEHOLDER_KEY = "not-needed"


def make_client(base_url: str, api_key: str, timeout_s: float = 60.0) -> openai.AsyncOpenAI:
    if not api_key and not base_url:
        raise ConfigError("the OpenAI provider needs OPENAI_API_KEY (or a base URL of an OpenAI-compatible server)")
    return openai.AsyncOpenAI(
        base_url=base_url or None,
        api_key=api_key or _LOCAL_PLACEHOLDER_KEY,
        max_retries=0,  # a voice turn cannot wait for back-off; the user retries
        timeout=openai.Timeout(timeout_s, connect=5.0),  # the HTTP client's Timeout, as openai re-exports it
    )
