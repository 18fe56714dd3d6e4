"""GUI tests: real widgets on the offscreen platform, the engine on a qasync loop.

The qasync loop is created "already running" once per
session and made the running loop for each GUI module: pytest-qt's waitUntil
spins the Qt event loop, and that runs the loop's asyncio callbacks too. The tests
themselves are plain sync functions (pytest-asyncio leaves them alone).
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio  # noqa: E402

import desktop_app.gui  # noqa: E402,F401  (guards PySide6 6.12's refcount bug before Qt runs)

import pytest  # noqa: E402
import qasync  # noqa: E402


@pytest.fixture(scope="session")
def _qasync_loop(qapp):
    """One qasync loop for the whole session (a second QEventLoop on the same app stalls)."""
    from desktop_app.gui.style import apply_theme

    apply_theme(qapp)
    loop = qasync.QEventLoop(qapp, already_running=True)
    executor = qasync.QThreadExecutor(4)
    loop.set_default_executor(executor)
    asyncio.events._set_running_loop(None)  # made current only while GUI tests run
    yield loop
    executor.shutdown(wait=True)


@pytest.fixture(scope="module")
def qloop(_qasync_loop):
    """The qasync loop as the running loop for this module's (sync) tests."""
    asyncio.set_event_loop(_qasync_loop)
    asyncio.events._set_running_loop(_qasync_loop)
    yield _qasync_loop
    asyncio.events._set_running_loop(None)  # let pytest-asyncio run its own loops afterwards
    asyncio.set_event_loop(None)
