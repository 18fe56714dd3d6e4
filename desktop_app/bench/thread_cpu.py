"""CPU time per thread of this process, by name: what competes with the LLM during a turn.

Linux only (``/proc/self/task``); elsewhere :func:`snapshot` returns an empty dict.
Python threads are named by ``threading`` (``ModelThread`` prefixes: asr, llm, tts, vad,
turn...), other threads by the kernel (``comm``: Qt's, PortAudio's, onnxruntime's).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def snapshot() -> dict[int, tuple[str, float]]:
    """{native thread id: (name, CPU seconds so far)}."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return {}
    names = {t.native_id: t.name for t in threading.enumerate() if t.native_id is not None}
    out: dict[int, tuple[str, float]] = {}
    for task in tasks.iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        tid = int(task.name)
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
        name = names.get(tid) or stat[stat.index("(") + 1 : stat.rindex(")")]
        out[tid] = (name, cpu)
    return out


def busiest(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], top: int = 6) -> list[tuple[str, float]]:
    """CPU milliseconds per thread name between two snapshots, largest first."""
    by_name: dict[str, float] = {}
    for tid, (name, cpu) in after.items():
        spent = cpu - before.get(tid, (name, 0.0))[1]
        if spent > 0:
            key = name.split("_")[0] if name.startswith(("asr", "llm", "tts", "vad", "turn", "ogg")) else name
            by_name[key] = by_name.get(key, 0.0) + spent * 1000.0
    return sorted(by_name.items(), key=lambda item: -item[1])[:top]


def describe(spent: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {ms:.0f} ms" for name, ms in spent) or "nothing measured"


class TurnCpuLog:
    """Logs (INFO) the CPU each thread used from a turn's start to its first audio packet.

    Subscribe it to an engine: ``engine.subscribe(TurnCpuLog(log))``. The window and the
    server do when ``-v`` is on; the per-face benchmark reads these lines.
    """

    def __init__(self, logger, label: str = "turn") -> None:
        self._log = logger
        self._label = label
        self._turn: str | None = None
        self._before: dict[int, tuple[str, float]] = {}

    def __call__(self, event) -> None:
        from desktop_app.core.events import AudioPacket, TurnStarted

        if isinstance(event, TurnStarted):
            self._turn, self._before = event.turn_id, snapshot()
        elif isinstance(event, AudioPacket) and event.turn_id == self._turn:
            self._turn = None
            self._log.info("%s %s: CPU from start to first audio: %s", self._label, event.turn_id, describe(busiest(self._before, snapshot())))
