"""Run blocking model work off the event loop.

Each model gets its own single worker thread (:class:`ModelThread`): calls to one model
are serialized (llama.cpp and ONNX sessions are not re-entrant) and the event loop never
waits on a model. CTranslate2, llama.cpp and onnxruntime release the GIL while working.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable, Iterator, TypeVar

T = TypeVar("T")

_ITEM, _ERROR, _END = range(3)


log = logging.getLogger(__name__)

# Background work yields to the conversation's threads (nice 0 weighs ~10x more), yet is
# not starved by other programs: at nice 19 (weight 15) a busy machine kept one screen
# reading from finishing for 35 s.
LOW_PRIORITY_NICE = 10


class ModelThread:
    def __init__(self, name: str, low_priority: bool = False) -> None:
        """``low_priority``: the thread runs at a low CPU priority (Linux: nice 10 for this
        thread alone), for work that must not delay a reply (reading the screen)."""
        initializer = _lower_priority if low_priority else None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=initializer)

    async def run(self, fn: Callable[..., T], *args) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def stream(self, make_iter: Callable[[threading.Event], Iterator[T]]) -> AsyncIterator[T]:
        """Iterate a blocking iterator in the worker thread, yielding its items here.

        ``make_iter`` receives a stop event; when the consumer stops early (break,
        cancellation), the event is set and the iterator is abandoned at its next item.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[int, object]] = asyncio.Queue()
        stop = threading.Event()

        def post(kind: int, item: object) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, (kind, item))
            except RuntimeError:  # the loop is closed: nobody is listening any more
                stop.set()

        def work() -> None:
            iterator = None
            try:
                iterator = make_iter(stop)
                for item in iterator:
                    if stop.is_set():
                        break
                    post(_ITEM, item)
            except BaseException as exc:  # handed to the consumer
                post(_ERROR, exc)
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        pass
                post(_END, None)

        loop.run_in_executor(self._executor, work)
        try:
            while True:
                kind, item = await queue.get()
                if kind == _END:
                    return
                if kind == _ERROR:
                    raise item  # type: ignore[misc]
                yield item  # type: ignore[misc]
        finally:
            stop.set()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux schedules threads one by one)."""
    if not hasattr(os, "setpriority") or not hasattr(threading, "get_native_id"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOW_PRIORITY_NICE)
    except OSError as exc:
        log.debug("could not lower the thread priority: %s", exc)
