"""The README's window picture: a real spoken turn on the default models, with its real latency line.

    python -m tests.screenshots.window docs/screenshot.png

Starts a private PulseAudio (tests/media/pulse.py: a null speaker, a microphone fed by
``paplay``) and opens the window in a child process under Xvfb on the default settings
and models (Qwen2.5-Coder-1.5B, whisper, Piper). One typed turn warms the models up and
is put away (a new conversation); then the talk key is held while Piper's voice asks the
question into the microphone, and released. Once the reply has been spoken, the status
line says Ready and the notes have faded, the window is saved. Its figures are whatever
this machine measured: run it on a quiet machine.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUESTION = "How do I reverse a list in Python?"
WARM_UP = "Say hello in five words."
QUIET_LOAD = 1.2  # the 1-minute load average the turn waits for (the window itself idles at ~0.3)


def main(out: Path) -> int:
    from tests.media.pulse import DEVICE, private_pulse, skip_reason

    reason = skip_reason()
    if reason or not shutil.which("xvfb-run"):
        print(reason or "xvfb-run is not installed (Debian: xvfb)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="aiwebcam-shot-") as tmp, private_pulse(Path(tmp)) as env:
        env = {k: v for k, v in env.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(
            AIWEBCAM_CONFIG_DIR=f"{tmp}/config",
            AIWEBCAM_DATA_DIR=f"{tmp}/data",
            AIWEBCAM_AUDIO_INPUT_DEVICE=DEVICE,
            AIWEBCAM_AUDIO_OUTPUT_DEVICE=DEVICE,
        )
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, "-m", "tests.screenshots.window", "--child", str(out.resolve())]
        return subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[2]).returncode


def child(out: Path) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_app.config import AppPaths, load_settings
    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.style import apply_theme
    from tests.speech import piper_wav

    if os.environ.get("AIWEBCAM_SHOT_VERBOSE"):  # per-thread CPU of each turn (what competes with the LLM)
        import logging

        logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    app = QApplication(["aiwebcam"])
    app.setApplicationName("AI Webcam")
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    paths = AppPaths.from_env()
    settings = load_settings(paths)
    window = MainWindow(settings, paths, video="pattern", remember_layout=False)
    window.show()
    wav = piper_wav(QUESTION, lead_silence_s=0.4, tail_silence_s=0.4)

    async def until(condition, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            await asyncio.sleep(0.05)

    def idle() -> bool:
        engine = window.session.engine
        return window.talk_state.state.phase.value == "ready" and engine is not None and not engine.speaking

    async def run() -> int:
        window.session.start()
        await until(lambda: window.session.is_ready, 900, "the models")
        await until(lambda: window.microphone.armed, 30, "the microphone")
        window.send_text(WARM_UP)  # the first turn after loading pays for caches: not the one shown
        await until(lambda: window.session.busy, 30, "the warm-up turn")
        await until(idle, 600, "the warm-up reply")
        warm = window.transcript.entries[-1]
        print(f"warm-up turn: {warm.metrics}", flush=True)
        window.new_conversation()
        await asyncio.sleep(1.0)

        quiet = time.monotonic() + float(os.environ.get("AIWEBCAM_SHOT_QUIET_WAIT_S", "900"))
        while os.getloadavg()[0] > QUIET_LOAD and time.monotonic() < quiet:  # others' work is not the app's latency
            await asyncio.sleep(5)
        print(f"load average at the turn: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})", flush=True)
        window.talk_control.press()  # as the talk key does
        await asyncio.sleep(0.3)
        await asyncio.to_thread(subprocess.run, ["paplay", "--device=micsink", str(wav)], check=True)
        window.talk_press.release()
        await until(lambda: window.transcript.entries and window.transcript.entries[-1].finished, 600, "the turn")
        await until(idle, 600, "the reply to be spoken")
        entry = window.transcript.entries[-1]
        print(f"you: {entry.user_text}\nAI: {entry.reply_text}\n{entry.metrics}", flush=True)
        window.statusBar().clearMessage()
        await asyncio.sleep(1.0)  # coalesced renders land
        window.transcript.verticalScrollBar().setValue(0)  # the whole turn: the question first
        await asyncio.sleep(0.2)
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = window.grab().save(str(out), "PNG")
        print(out if ok else f"cannot write {out}", flush=True)
        window.close()
        await window.aclose()
        return 0 if ok and entry.state == "done" else 1

    with loop:
        return loop.run_until_complete(run())


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if sys.argv[1] == "--child":
        sys.exit(child(Path(sys.argv[2])))
    sys.exit(main(Path(sys.argv[1])))
