"""Idle CPU and memory of a running process, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its threads, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def idle_cpu_percent(pid: int, seconds: float = 10.0) -> float:
    """CPU use of ``pid`` over ``seconds``, as a percentage of one core."""
    before = process_cpu_seconds(pid)
    start = time.monotonic()
    time.sleep(seconds)
    used = process_cpu_seconds(pid) - before
    return 100.0 * used / (time.monotonic() - start)
