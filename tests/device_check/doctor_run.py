"""Run ``aiwebcam doctor`` as a user would, reacting to its prompts; its lines and JSON."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

TIMEOUT_S = 600


def aiwebcam() -> list[str]:
    exe = Path(sys.executable).with_name("aiwebcam")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "desktop_app"]


@dataclass
class DoctorRun:
    returncode: int
    lines: list[str]
    stderr: str

    def result(self, name: str) -> str:
        """The one PASS/FAIL/SKIP line of check ``name``."""
        found = [line for line in self.lines if line.startswith("[") and line.split("] ", 1)[1].startswith(f"{name}:")]
        assert len(found) == 1, self.text
        return found[0]

    @property
    def report(self) -> dict:
        return json.loads(self.lines[-1])

    def figures(self, name: str) -> dict:
        return next(c for c in self.report["checks"] if c["name"] == name)["figures"]

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + "\n--- stderr ---\n" + self.stderr[-3000:]


def run_doctor(args: list[str], env: dict[str, str], on_line: Callable[[str], None] | None = None) -> DoctorRun:
    """``aiwebcam doctor ARGS --json``; ``on_line`` sees each stdout line as it comes."""
    proc = subprocess.Popen([*aiwebcam(), "doctor", *args, "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)
    reader.start()
    timer = threading.Timer(TIMEOUT_S, proc.kill)
    timer.start()
    lines = []
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            lines.append(line)
            if on_line is not None:
                on_line(line)
        proc.wait()
    finally:
        timer.cancel()
        reader.join(timeout=10)
    return DoctorRun(proc.returncode, lines, "".join(err))
