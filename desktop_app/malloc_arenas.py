"""glibc's malloc arenas, bounded: memory the model threads free is reused, not kept.

glibc gives each thread that meets a busy arena a new one, up to 8 per core. The app's
model threads (speech recognition, the language model, speech synthesis, voice activity,
OCR) each allocate and free large buffers of changing sizes in their own arena, and an
arena keeps its freed memory for itself: a long session grew by ~1 MB a turn
(benchmarks/long_session.py, SmolLM2, AMD EPYC: 997 -> 1008 MB over turns 20-30), and
the process started 190 MB larger. With 2 arenas: 806 MB at turn 20, +1.4 % by turn 50.

Set as the process starts (before the model threads run); a ``MALLOC_ARENA_MAX`` in the
environment wins. Only glibc has this knob: elsewhere this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """True when the bound was set (glibc, and the environment did not set its own)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
