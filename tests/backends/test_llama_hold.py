"""The embedded LLM's hold: generation pauses between tokens while the first sentence
is synthesized, resumes on release, never outlives MAX_HOLD_S, and a held request can
still be stopped. Real llama.cpp with SmolLM2 (fast enough to see token gaps)."""

from __future__ import annotations

import asyncio
import time

import pytest

from desktop_app.backends.llm import llama_local
from desktop_app.backends.llm.llama_local import LlamaChatModel
from desktop_app.config import AppPaths

PROMPT = [{"role": "user", "content": "Count from one to fifty in words, separated by commas."}]


@pytest.fixture
async def llm():
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, max_tokens=200, temperature=0.0)
    await model.load()
    yield model
    model.hold(False)
    await model.aclose()


class Reader:
    """Consumes a stream in the background, noting when each delta arrived."""

    def __init__(self, stream) -> None:
        self.times: list[float] = []
        self.ended = False
        self._task = asyncio.ensure_future(self._read(stream))

    async def _read(self, stream) -> None:
        async for _delta in stream:
            self.times.append(time.monotonic())
        self.ended = True

    async def started(self) -> None:
        while not self.times:
            await asyncio.sleep(0.01)

    async def wait_for(self, count: int, timeout_s: float = 60.0) -> None:
        """Until ``count`` deltas have arrived in all (generous: a busy machine is slow)."""
        deadline = time.monotonic() + timeout_s
        while len(self.times) < count and not self.ended:
            assert time.monotonic() < deadline, f"only {len(self.times)} of {count} deltas in {timeout_s} s"
            await asyncio.sleep(0.01)

    async def count_during(self, seconds: float) -> int:
        before = len(self.times)
        await asyncio.sleep(seconds)
        return len(self.times) - before

    async def stop(self) -> None:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass


async def test_held_generation_waits_between_tokens_and_resumes(llm):
    reader = Reader(llm.stream(PROMPT))
    await reader.started()
    llm.hold(True)
    await reader.count_during(0.2)  # the token already being decoded may still arrive
    assert await reader.count_during(0.5) == 0  # nothing more while held
    llm.hold(False)
    await reader.wait_for(len(reader.times) + 3)  # it goes on once released (no rate asserted:
    await reader.stop()  # llama.cpp's two threads crawl when another process takes a core)


async def test_a_hold_never_outlasts_its_limit(llm, monkeypatch):
    monkeypatch.setattr(llama_local, "MAX_HOLD_S", 0.3)
    reader = Reader(llm.stream(PROMPT))
    await reader.started()
    llm.hold(True)  # and never released
    held_at = time.monotonic()
    await reader.count_during(0.2)  # the token already being decoded may still arrive
    settled = len(reader.times)
    await reader.wait_for(settled + 3)  # "generation stayed held past MAX_HOLD_S" if not
    resumed = reader.times[settled:]
    assert resumed[0] - held_at >= 0.25  # it did wait first
    await reader.stop()


async def test_a_held_request_can_be_stopped(llm):
    reader = Reader(llm.stream(PROMPT))
    await reader.started()
    llm.hold(True)
    await reader.stop()  # the turn was cancelled while its first sentence was synthesized
    llm.hold(False)
    # the model thread is free again: a new request answers
    fresh = Reader(llm.stream([{"role": "user", "content": "Say yes."}]))
    await asyncio.wait_for(fresh.started(), timeout=30)
    await fresh.stop()
