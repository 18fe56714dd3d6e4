"""Telling the user that the language model has not answered yet.

A remote endpoint (a busy vLLM, a model still loading in Ollama, a bigger machine on a
slow link) can take many seconds before its first word. Without a sign the user cannot
tell a slow model from a hung app. :func:`announce_wait` wraps a turn's reply stream:
when no text has come after :data:`FIRST_NOTICE_S`, it emits :class:`WaitingForModel`,
then again every :data:`NOTICE_EVERY_S` until the first text (or the end of the turn).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import AsyncIterator, Callable

FIRST_NOTICE_S = 2.0  # a local model's first token takes 0.1-0.5 s; past this the user wonders
NOTICE_EVERY_S = 1.0


@dataclass(frozen=True)
class WaitingForModel:
    """The turn's language model has sent no text yet after ``waited_s`` seconds."""

    turn_id: str
    model: str  # the model's name as the backend gives it ("openai llama3.2", ...)
    waited_s: float

    @property
    def line(self) -> str:
        """One line for the user."""
        return f"Waiting for the model ({self.model}): no reply yet after {self.waited_s:.0f} s"


async def announce_wait(
    deltas: AsyncIterator[str],
    notify: Callable[[float], None],
    first_after_s: float = FIRST_NOTICE_S,
    every_s: float = NOTICE_EVERY_S,
) -> AsyncIterator[str]:
    """Yield ``deltas`` unchanged; call ``notify(waited_s)`` while the first one is late.

    Closing (or cancelling) this iterator closes ``deltas`` too, so a remote stream's
    HTTP connection is released at once.
    """

    async def notices() -> None:
        waited = first_after_s
        await asyncio.sleep(first_after_s)
        while True:
            notify(waited)
            await asyncio.sleep(every_s)
            waited += every_s

    timer: asyncio.Task | None = asyncio.ensure_future(notices())
    try:
        async for delta in deltas:
            if timer is not None:
                timer.cancel()
                timer = None
            yield delta
    finally:
        if timer is not None:
            timer.cancel()
        close = getattr(deltas, "aclose", None)
        if close is not None:
            await close()
