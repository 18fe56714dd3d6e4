"""glibc's malloc arenas, bounded, and what they keep given back after each turn.

glibc gives each thread that meets a busy arena a new one, up to 8 per core. The app's
model threads (speech recognition, the language model, speech synthesis, voice activity,
OCR) each allocate and free large buffers of changing sizes in their own arena, and an
arena keeps its freed memory for itself: a long session grew by ~1 MB a turn
(benchmarks/long_session.py, SmolLM2, AMD EPYC: 997 -> 1008 MB over turns 20-30), and
the process started 190 MB larger. With 2 arenas: 806 MB at turn 20, +1.4 % by turn 50.

Set as the process starts (before the model threads run); a ``MALLOC_ARENA_MAX`` in the
environment wins. Only glibc has this knob: elsewhere this does nothing.

Even two arenas keep the pages of what was freed inside them: glibc returns memory to
the system only from the top of the main heap, so a buffer freed below a live one stays
resident. ``FreeMemoryAfterTurns`` asks glibc (``malloc_trim``) to give back every free
page once a turn is over, on a thread of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import sys
import threading
import time

from desktop_app.core.events import Event, TurnFinished

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)
ARENAS = 2


@functools.cache
def _glibc_function(name: str):
    """``name`` from the C library when it is glibc's, else None. Cached: ``find_library``
    runs ``ldconfig`` in a subprocess."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):  # not glibc (musl has neither mallopt nor malloc_trim)
        return None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """True when the bound was set (glibc, and the environment did not set its own)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = _glibc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))


def give_back_free_memory() -> bool:
    """Return every whole free page of every arena to the system (``malloc_trim(0)``).
    True when some memory went back; False also where this is not glibc."""
    trim = _glibc_function("malloc_trim")
    return trim is not None and bool(trim(0))


class FreeMemoryAfterTurns:
    """An engine listener: after each ``TurnFinished``, free pages go back to the system.

    The trim runs on a thread of its own, started at the first turn and then asleep
    (it walks every arena: a few ms that must not stall the event loop). Turns that end
    while it runs fold into one more trim, so several engines sharing the process (the
    server's sessions) never queue them up.
    """

    def __init__(self) -> None:
        self._asked = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.trims = 0  # finished, for tests and the log

    def __call__(self, event: Event) -> None:
        if not isinstance(event, TurnFinished):
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)
                self._thread.start()
        self._asked.set()

    def _run(self) -> None:
        while True:
            self._asked.wait()
            self._asked.clear()
            started = time.perf_counter()
            released = give_back_free_memory()
            self.trims += 1
            log.debug("malloc_trim after a turn: %s in %.1f ms", "released" if released else "nothing", (time.perf_counter() - started) * 1000)


# The process's one listener: every engine (the window's, each browser session's) shares it.
free_memory_after_turns = FreeMemoryAfterTurns()
