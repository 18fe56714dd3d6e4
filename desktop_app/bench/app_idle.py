"""Idle CPU of the desktop app: start it offscreen, wait until it is ready, then watch it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from desktop_app.bench.idle import idle_cpu_percent, peak_rss_mb
from desktop_app.errors import AppError

READY_ENV = "AIWEBCAM_READY_FILE"  # the window writes this file once shown and warmed up


@dataclass(frozen=True)
class AppIdle:
    cpu_percent: float
    peak_rss_mb: float


def measure_app_idle(seconds: float = 10.0, ready_timeout_s: float = 180.0) -> AppIdle:
    with tempfile.TemporaryDirectory(prefix="aiwebcam-idle-") as tmp:
        ready = Path(tmp) / "ready"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
            READY_ENV: str(ready),
            "AIWEBCAM_DATA_DIR": str(Path(tmp) / "data"),
        }
        proc = subprocess.Popen([sys.executable, "-m", "desktop_app"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + ready_timeout_s
            while not ready.exists():
                if proc.poll() is not None:
                    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                    raise AppError(f"the desktop app exited before it was ready: {err[-1] if err else proc.returncode}")
                if time.monotonic() > deadline:
                    raise AppError("the desktop app did not become ready in time")
                time.sleep(0.2)
            time.sleep(1.0)  # let the first paint and timers settle
            cpu = idle_cpu_percent(proc.pid, seconds)
            return AppIdle(cpu, peak_rss_mb(proc.pid))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
