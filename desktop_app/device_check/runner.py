"""The checks in order, by key, run one after the other; a failure never stops the rest."""

from __future__ import annotations

import importlib
import logging
from typing import Callable, Iterable

from desktop_app.device_check.context import CheckContext
from desktop_app.device_check.result import CheckResult, failed

log = logging.getLogger(__name__)

# key -> (the check's name, "module:function"); imported only when run (the camera check needs Qt)
CHECKS: dict[str, tuple[str, str]] = {
    "mic": ("microphone", "desktop_app.device_check.microphone:check_microphone"),
    "speaker": ("speaker", "desktop_app.device_check.speaker:check_speaker"),
    "echo": ("echo", "desktop_app.device_check.echo:check_echo"),
    "camera": ("camera/screen", "desktop_app.device_check.video:check_video"),
    "turn": ("spoken turn", "desktop_app.device_check.turn:check_turn"),
}
ALIASES = {"microphone": "mic", "speakers": "speaker", "video": "camera", "screen": "camera", "engine": "turn"}


def parse_keys(text: str) -> list[str]:
    """"mic,echo" -> ["mic", "echo"] in the checks' own order; ValueError names the valid keys."""
    if not text.strip():
        return list(CHECKS)
    wanted = set()
    for part in text.split(","):
        key = ALIASES.get(part.strip().lower(), part.strip().lower())
        if key not in CHECKS:
            raise ValueError(f"unknown check {part.strip()!r} (choose from {', '.join(CHECKS)})")
        wanted.add(key)
    return [key for key in CHECKS if key in wanted]


async def run_checks(ctx: CheckContext, keys: Iterable[str], on_result: Callable[[CheckResult], None] | None = None) -> list[CheckResult]:
    results = []
    for key in keys:
        name, target = CHECKS[key]
        try:
            module, function = target.split(":")
            result = await getattr(importlib.import_module(module), function)(ctx)
        except Exception as exc:  # a check reports, it never crashes the others
            log.info("check %s failed", key, exc_info=True)  # the traceback with -v only
            result = failed(name, f"{type(exc).__name__}: {' '.join(str(exc).split())}", "please report it with the output of 'aiwebcam -v doctor'")
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
