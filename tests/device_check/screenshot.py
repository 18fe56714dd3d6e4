"""A screenshot of the Device check dialog after a real run on PulseAudio null devices.

    python -m tests.device_check.screenshot docs/device-check.png

Starts a private PulseAudio (tests/media/pulse.py) with the speaker's echo looped into
the microphone, opens the dialog in a child process (under Xvfb when installed, else
Qt offscreen) on the default settings and models, runs every check, "talks" into the
microphone when asked (Piper speech played into the mic sink), and saves the dialog.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SPOKEN = "Testing my microphone, one two three."


def main(out: Path) -> int:
    from tests.media.pulse import private_pulse, skip_reason
    from tests.speech import piper_wav

    reason = skip_reason()
    if reason:
        print(reason, file=sys.stderr)
        return 1
    speech = piper_wav(SPOKEN)
    with tempfile.TemporaryDirectory(prefix="aiwebcam-shot-") as tmp, private_pulse(Path(tmp), echo_volume=0.35) as env:
        env = {**env, "AIWEBCAM_CONFIG_DIR": f"{tmp}/config", "AIWEBCAM_DATA_DIR": f"{tmp}/data"}
        command = [sys.executable, "-m", "tests.device_check.screenshot", "--child", str(out.resolve())]
        if shutil.which("xvfb-run"):
            command = ["xvfb-run", "-a", "-s", "-screen 0 1280x900x24", *command]
        else:
            env["QT_QPA_PLATFORM"] = "offscreen"
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
        for line in child.stdout:
            print(line, end="", flush=True)
            if "say something now" in line:
                subprocess.Popen(["paplay", "--device=micsink", str(speech)], env=env)
        return child.wait()


def child(out: Path) -> int:
    import qasync
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop_app.config import AppPaths, load_settings
    from desktop_app.device_check import CHECKS
    from desktop_app.gui.device_check_dialog import DeviceCheckDialog
    from desktop_app.gui.style import apply_theme

    app = QApplication(["aiwebcam"])
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    paths = AppPaths.from_env()
    dialog = DeviceCheckDialog(load_settings(paths), paths)
    dialog.show()
    seen = [""]

    def echo_progress() -> None:  # the parent talks when the dialog asks
        text = dialog.progress.text()
        if text != seen[0]:
            seen[0] = text
            print(text, flush=True)

    timer = QTimer()
    timer.timeout.connect(echo_progress)
    timer.start(30)

    async def run() -> int:
        results = await dialog.run(list(CHECKS))
        for result in results:
            print(result.line(), flush=True)
        await asyncio.sleep(0.5)  # the last row laid out
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = dialog.grab().save(str(out), "PNG")
        print(out if ok else f"cannot write {out}", flush=True)
        return 0 if ok else 1

    with loop:
        return loop.run_until_complete(run())


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        sys.exit(child(Path(sys.argv[2])))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main(Path(sys.argv[1])))
