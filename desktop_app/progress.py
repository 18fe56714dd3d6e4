"""Progress lines on stderr for long one-time steps (assembling and loading models)."""

from __future__ import annotations

import sys
import time


class StderrProgress:
    """Callable ``(what, fraction)``; redraws one line on a terminal, prints steps otherwise."""

    def __init__(self, stream=None, quiet: bool = False) -> None:
        self._stream = stream or sys.stderr
        self._quiet = quiet
        self._last_what = ""
        self._last_time = 0.0
        self._tty = hasattr(self._stream, "isatty") and self._stream.isatty()

    def __call__(self, what: str, fraction: float) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        new_step = what != self._last_what
        if not new_step and fraction < 1.0 and now - self._last_time < (0.2 if self._tty else 5.0):
            return
        self._last_time = now
        percent = f"{fraction * 100:3.0f}%"
        if self._tty:
            end = "\n" if fraction >= 1.0 else ""
            self._stream.write(f"\r{what} {percent}{end}")
        else:
            self._stream.write(f"{what} {percent}\n")
        self._stream.flush()
        self._last_what = what
