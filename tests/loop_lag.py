"""Event-loop lag: how late a periodic timer fires. Large lag = a frozen window / jittery audio."""

from __future__ import annotations

import asyncio

import numpy as np


class LoopLagMonitor:
    """Sleeps ``interval_s`` again and again on the running loop and records the overshoot."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.lags_ms: list[float] = []
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.lags_ms.append(max(0.0, (loop.time() - due) * 1000.0))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def summary(self) -> dict[str, float]:
        if not self.lags_ms:
            return {"samples": 0, "p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
        data = np.asarray(self.lags_ms)
        return {
            "samples": int(data.size),
            "p50_ms": round(float(np.percentile(data, 50)), 1),
            "p99_ms": round(float(np.percentile(data, 99)), 1),
            "max_ms": round(float(data.max()), 1),
        }
