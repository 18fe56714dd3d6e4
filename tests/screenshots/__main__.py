"""Regenerate the README's pictures from real runs, and say where each came from.

    python -m tests.screenshots            # all three, into docs/
    python -m tests.screenshots window     # or: phone, device-check

* docs/screenshot.png: the window after a real spoken turn on the default models
  (tests/screenshots/window.py; PulseAudio null devices, Xvfb);
* docs/phone.png: the browser page on a phone-sized viewport after a real spoken turn
  (tests/screenshots/phone.py; Chromium, loopback-only network namespace);
* docs/device-check.png: the Device check dialog after a real run (tests/device_check/screenshot.py).

Needs what ``scripts/setup.sh --test`` installs (xvfb, pulseaudio, chromium) and root for
``unshare -n``. The latency figures are this machine's: run it on a quiet machine (the
window's turn waits up to 15 minutes for the load average to fall below 1.2).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def main(names: list[str]) -> int:
    from tests.device_check import screenshot as device_check
    from tests.screenshots import phone, window

    pictures = {
        "window": lambda: window.main(DOCS / "screenshot.png"),
        "phone": lambda: phone.main(DOCS / "phone.png"),
        "device-check": lambda: device_check.main(DOCS / "device-check.png"),
    }
    unknown = [n for n in names if n not in pictures]
    if unknown:
        print(f"unknown picture {unknown[0]!r}: choose from {', '.join(pictures)}", file=sys.stderr)
        return 2
    failed = [name for name in (names or list(pictures)) if pictures[name]() != 0]
    for name in failed:
        print(f"{name}: FAILED", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main(sys.argv[1:]))
