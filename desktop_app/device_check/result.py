"""What a device check found: one result per check, printed as one line."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(str, enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"


@dataclass(frozen=True)
class CheckResult:
    """``detail``: what was measured or what went wrong; ``fix``: what to do (empty on a pass).

    ``figures`` holds the measured numbers (dBFS, dB removed, fps, milliseconds) for the
    dialog and ``--json``; ``preview`` a PNG of the video frame (camera check only).
    """

    name: str
    status: Status
    detail: str
    fix: str = ""
    figures: dict[str, float] = field(default_factory=dict)
    preview: bytes | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def line(self) -> str:
        text = f"[{self.status.value}] {self.name}: {self.detail}"
        return f"{text} -> fix: {self.fix}" if self.fix else text

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status.value, "detail": self.detail, "fix": self.fix, "figures": self.figures}


def passed(name: str, detail: str, **figures: float) -> CheckResult:
    return CheckResult(name, Status.PASS, detail, "", dict(figures))


def failed(name: str, detail: str, fix: str, **figures: float) -> CheckResult:
    return CheckResult(name, Status.FAIL, detail, fix, dict(figures))


def skipped(name: str, detail: str) -> CheckResult:
    return CheckResult(name, Status.SKIP, detail)
