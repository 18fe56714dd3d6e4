"""Tasks a part of the window starts: kept until done, failures logged, ended on close.

A task whose result nobody keeps can be collected while it runs, and its exception is
only reported when it is (or never). Every part that starts one keeps it here.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Coroutine

log = logging.getLogger(__name__)


class OwnedTasks:
    def __init__(self) -> None:
        self._tasks: dict[asyncio.Task, str] = {}

    def start(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task:
        """Run ``coro`` on the running loop; ``what`` names it in the log if it fails."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks[task] = what
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        what = self._tasks.pop(task, "a task")
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", what, exc_info=task.exception())

    async def aclose(self, cancel: bool = True) -> None:
        """Cancel the tasks still running (or, ``cancel=False``, let them finish) and await them."""
        pending = list(self._tasks)
        if cancel:
            for task in pending:
                task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
