"""The real engine for core tests: built from settings, warmed up, closed after."""

from __future__ import annotations

import contextlib
from typing import AsyncIterator

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.engine import Engine


@contextlib.asynccontextmanager
async def warm_engine(settings: Settings) -> AsyncIterator[Engine]:
    engine = make_engine(settings, AppPaths.from_env())
    await engine.warm_up()
    try:
        yield engine
    finally:
        await engine.aclose()


def record_primes(engine: Engine) -> list[str]:
    """The last message of every prompt the engine has the model evaluate ahead (``prime``),
    in order; the model still evaluates each."""
    primed: list[str] = []
    llm = engine.backends.llm
    prime = llm.prime

    async def recording_prime(messages):
        primed.append(messages[-1]["content"])
        await prime(messages)

    llm.prime = recording_prime
    return primed
