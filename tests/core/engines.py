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
