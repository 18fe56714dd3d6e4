"""The device check: microphone, speaker, echo, camera or screen, and a spoken turn.

One implementation for ``aiwebcam doctor`` (desktop_app.commands.doctor) and the
window's dialog (desktop_app.gui.device_check_dialog). Each check is an async function
``check_x(ctx: CheckContext) -> CheckResult`` in its own module; device I/O runs in
worker threads, so the checks run on any asyncio loop (the camera check needs a Qt one).
"""

from desktop_app.device_check.context import CheckContext
from desktop_app.device_check.result import CheckResult, Status
from desktop_app.device_check.runner import CHECKS, parse_keys, run_checks

__all__ = ["CHECKS", "CheckContext", "CheckResult", "Status", "parse_keys", "run_checks"]
