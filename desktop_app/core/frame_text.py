"""The text in view, read in the background so a turn does not wait for it.

A model that cannot see images is told the text that OCR reads from the user's camera
or screen. Reading a frame takes about a second on two cores, so it starts as soon as
the user starts talking (:meth:`FrameText.look`), in a low-priority thread, while the
words are still being spoken and transcribed. When the turn is submitted it asks
:meth:`FrameText.reading_for` its own frame:

* the freshest finished reading, when its frame is the same, or was offered since the
  user started talking (a camera's view never stays the same to the pixel; what was in
  view as the user began is what they are talking about);
* else the reading in flight, on the same terms (wait for the rest of it);
* else a new reading of the turn's frame (typed in a hurry, or the view changed).

One reading runs at a time, and the latest offered frame wins: a frame offered while
another is being read replaces any frame still waiting. A frame identical to the one
last read (or being read) is not read again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import Callable

from desktop_app.core.metrics import now_ms
from desktop_app.core.ports import TextReader

log = logging.getLogger(__name__)

def fingerprint(jpeg: bytes) -> bytes:
    """The frame's identity. A screen that did not change encodes to the same bytes; one
    changed digit does not (a stale reading would be a wrong answer). A camera's frames
    always differ: there the reading of the frame from when the user started talking is
    used (see :meth:`FrameText.reading_for`)."""
    return hashlib.blake2b(jpeg, digest_size=16).digest()


@dataclass(frozen=True)
class Reading:
    text: str  # "" when no text was found
    fingerprint: bytes
    read_ms: float  # how long the OCR took
    looked_at_ms: float  # when its frame was offered


class FrameText:
    def __init__(self, reader: TextReader, on_read: Callable[[Reading | None], None] | None = None) -> None:
        self._reader = reader
        # each finished reading, None when it failed (the engine primes the LLM with it),
        # called once no reading of it runs any more (or the next one has started)
        self._on_read = on_read
        self._latest: Reading | None = None
        self._task: asyncio.Task | None = None
        self._in_flight: tuple[bytes, float] | None = None  # (fingerprint, looked at) being read
        self._waiting: tuple[bytes, bytes, float] | None = None  # next frame to read
        self.failures = 0

    @property
    def latest(self) -> Reading | None:
        """The freshest finished reading (for priming the LLM and for the window)."""
        return self._latest

    @property
    def last_offered_ms(self) -> float | None:
        """When the frame of the newest reading (in flight, else finished) was offered."""
        if self._in_flight is not None:
            return self._in_flight[1]
        return self._latest.looked_at_ms if self._latest is not None else None

    @property
    def reading(self) -> bool:
        """A reading is under way (or a frame waits for one): :attr:`latest` is about to change."""
        return self._in_flight is not None or self._waiting is not None

    def look(self, jpeg: bytes | None) -> None:
        """Read this frame in the background, unless it looks like the last one read."""
        if not jpeg:
            return
        self._offer(jpeg, fingerprint(jpeg), now_ms())

    def _offer(self, jpeg: bytes, print_: bytes, looked_at: float) -> None:
        if self._task is not None and not self._task.done():
            if self._in_flight is not None and print_ == self._in_flight[0]:
                self._waiting = None
            else:
                self._waiting = (jpeg, print_, looked_at)
            return
        if self._latest is not None and print_ == self._latest.fingerprint:
            return
        self._start(jpeg, print_, looked_at)

    def _start(self, jpeg: bytes, print_: bytes, looked_at: float) -> asyncio.Task:
        self._in_flight = (print_, looked_at)
        self._task = asyncio.ensure_future(self._read(jpeg, print_, looked_at))
        return self._task

    async def _read(self, jpeg: bytes, print_: bytes, looked_at: float) -> Reading | None:
        started = now_ms()
        try:
            text = await self._reader.read(jpeg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.failures += 1
            log.warning("frame text: OCR failed: %s", exc)
            reading = None
        else:
            reading = Reading(text.strip(), print_, now_ms() - started, looked_at)
            self._latest = reading
        finally:
            self._in_flight = None
            waiting, self._waiting = self._waiting, None
            if waiting is not None:
                self._start(*waiting)
        if self._on_read is not None:
            self._on_read(reading)
        return reading

    async def reading_for(self, jpeg: bytes, fresh_since_ms: float | None = None) -> Reading | None:
        """The reading of this frame's view: finished, in flight, or started now.

        A reading of a frame offered at or after ``fresh_since_ms`` (when the user started
        talking) counts as this view even if the picture moved since. None when the frame
        cannot be read (the OCR failed): the caller says so.
        """
        print_ = fingerprint(jpeg)

        def current(other: bytes, looked_at: float) -> bool:
            return other == print_ or (fresh_since_ms is not None and looked_at >= fresh_since_ms)

        while True:
            latest = self._latest
            if latest is not None and current(latest.fingerprint, latest.looked_at_ms):
                return latest
            task = self._task
            if task is not None and not task.done():
                if self._in_flight is not None and current(*self._in_flight):
                    return await asyncio.shield(task)
                self._waiting = (jpeg, print_, now_ms())  # after the one in flight: ours is next
                await asyncio.shield(task)
                continue
            return await asyncio.shield(self._start(jpeg, print_, now_ms()))

    async def aclose(self) -> None:
        self._waiting = None
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
