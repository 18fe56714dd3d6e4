"""The README's browser picture: the page on a phone-sized viewport after a real spoken turn.

    python -m tests.screenshots.phone docs/phone.png

The server runs in this process on the default models, in a loopback-only network
namespace (``unshare -n``, as tests/server/test_e2e_browser.py does: WebRTC never leaves
127.0.0.1); Debian's Chromium (Playwright, never ``playwright install``) opens the page at
390x844 CSS pixels (a phone, 2x), its fake camera as the video and Piper's voice asking a
question as its fake microphone; the Talk button is held by touch over the question.
Once the reply has played, the page is saved.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def main(out: Path) -> int:
    """Re-run this module inside a loopback-only network namespace."""
    for tool in ("unshare", "ip", "/usr/bin/chromium"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    inner = f"ip link set lo up && exec {sys.executable} -m tests.screenshots.phone --inside {out.resolve()}"
    return subprocess.run(["unshare", "-n", "sh", "-c", inner], cwd=ROOT).returncode


async def inside(out: Path) -> int:
    work = Path(tempfile.mkdtemp(prefix="aiwebcam-phone-"))
    os.environ.setdefault("AIWEBCAM_DATA_DIR", str(work / "data"))
    os.environ.setdefault("AIWEBCAM_CONFIG_DIR", str(work / "config"))
    from playwright.async_api import async_playwright

    from desktop_app.backends.factory import make_backends
    from desktop_app.config import AppPaths, Settings
    from desktop_app.server.app import ServerConfig, WebcamServer
    from tests.server.e2e_driver import CHROMIUM_FLAGS, LEAD_SILENCE_S, make_question_wav, open_page, page_now, wait_quiet

    wav, speech_ms = make_question_wav(work)
    settings = Settings()  # the default models
    paths = AppPaths.from_env()
    backends = make_backends(settings, paths)
    await asyncio.gather(backends.asr.load(), backends.llm.load(), backends.tts.load())
    server = WebcamServer(backends, settings, paths, ServerConfig(host="127.0.0.1", port=0, tls=True, ice_hosts=["127.0.0.1"]))
    url = await server.start()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"])
            context, page, _ = await open_page(browser, url, **PHONE)
            # hold Talk (by touch) from just before the question to just after it
            media_at = await page.evaluate("window.aiwebcam.mediaAt")
            press_at = media_at + LEAD_SILENCE_S * 1000 - 400
            await asyncio.sleep(max(0.0, press_at - await page_now(page)) / 1000)
            touch = {"pointerType": "touch", "button": 0, "isPrimary": True, "pointerId": 7}
            await page.dispatch_event("#talk", "pointerdown", touch)
            await asyncio.sleep((speech_ms + 900) / 1000)
            await page.dispatch_event("#talk", "pointerup", touch)
            await page.wait_for_function("() => document.querySelector('.msg.assistant:last-child .text')?.textContent.trim().length > 0", timeout=600_000)
            await wait_quiet(page, 600)
            await asyncio.sleep(1.0)
            meta = await page.eval_on_selector_all(".msg.assistant .meta", "els => els.map(e => e.textContent).pop() || ''")
            print(f"latency line: {meta}", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(out))
            print(out, flush=True)
            await context.close()
            await browser.close()
    finally:
        await server.stop()
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if sys.argv[1] == "--inside":
        sys.path.insert(0, str(ROOT))
        sys.exit(asyncio.run(inside(Path(sys.argv[2]))))
    sys.exit(main(Path(sys.argv[1])))
