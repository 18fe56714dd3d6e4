"""End the ``aiwebcam`` process once its work is done, without interpreter finalization.

``livekit``'s native library (the echo canceller's AEC3) runs a tokio runtime whose worker
threads call back into Python through a ctypes callback (its log records and events).
When one of those calls arrives while CPython is finalizing, CPython refuses the thread
the GIL and ends it with ``pthread_exit``; the forced unwind crosses Rust's ``extern "C"``
frames and Rust aborts the whole process ("panic in a function that cannot unwind",
exit status 134), after the command had already printed its result. The runtime calls
back soon after it starts, so short commands are the ones hit: with two busy cores,
10 of 120 runs of a script that only creates an ``EchoCanceller`` aborted at exit, and
0 of 120 when it ended through :func:`exit_process`. The library's own ``atexit``
dispose does not close the window (9 of 120 still aborted).

So the console entry point ends the process here: Python's ``atexit`` handlers run,
the logs and standard streams are flushed, and the process exits with ``os._exit``,
which leaves the native threads no moment to call into a finalizing interpreter.
Completed turns are already on disk: each is written whole (a temp file, then a rename)
as it completes, so a thread still running at the exit cannot leave a half-written file.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import NoReturn


def exit_status(code: object) -> int:
    """``sys.exit``'s rule for its argument: None is 0, an int is itself, anything else is printed and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_process(code: object) -> NoReturn:
    status = exit_status(code)
    try:
        atexit._run_exitfuncs()  # noqa: SLF001  (what finalization would run first; livekit disposes its runtime here)
        logging.shutdown()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):  # closed, or None in a windowed bundle
                pass
        os._exit(status)
