"""Is there a screen to open a window on?"""

from __future__ import annotations

import os
import sys
from typing import Mapping

NO_DISPLAY = (
    "aiwebcam: no display found (neither DISPLAY nor WAYLAND_DISPLAY is set): "
    "use 'aiwebcam ask' for one turn or 'aiwebcam chat' to talk in this terminal"
)


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """One line saying why no window can open, or None when one can."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None  # Windows and macOS always have a window server for a desktop user
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return NO_DISPLAY
