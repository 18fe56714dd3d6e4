"""A phone camera pointed at a page, offline: Debian Chromium's fake camera plays a still
of an error message over WebRTC to the server (default models, text-only LLM); the user
types a question about it; the reply and the stored turn are written to ``--out``.

Run inside a loopback-only network namespace (see test_browser_reads_view.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.server.e2e_driver import CHROMIUM_FLAGS, driver_work_dir, open_page, reply_texts, type_message, wait_quiet  # noqa: E402

QUESTION = "What is the error code on the page I am showing you?"


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    work = driver_work_dir("aiwebcam-view-")

    from playwright.async_api import async_playwright

    from desktop_app.backends.factory import make_backends
    from desktop_app.config import AppPaths, Settings
    from desktop_app.server.app import ServerConfig, WebcamServer
    from tests.pictures import error_screen, write_y4m

    video = write_y4m(error_screen((1280, 720), font_px=26), work / "page.y4m")
    settings = Settings(llm_provider="embedded", llm_max_tokens=60)  # the default (text-only) model
    backends = make_backends(settings, AppPaths.from_env())
    await backends.load()
    server = WebcamServer(backends, settings, AppPaths.from_env(), ServerConfig(host="127.0.0.1", port=0, tls=True, ice_hosts=["127.0.0.1"]))
    url = await server.start()
    result: dict = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-video-capture={video}"])
            ctx, page, _ = await open_page(browser, url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
            session = server.sessions[0]
            deadline = time.monotonic() + 60
            while session.peer.video_frames < 30 and time.monotonic() < deadline:  # WebRTC ramps its bitrate up
                await asyncio.sleep(0.2)
            result["video_frames"] = session.peer.video_frames
            await type_message(page, QUESTION)
            await page.wait_for_function("() => document.querySelector('.msg.assistant:last-child .text')?.textContent.trim().length > 0", timeout=300000)
            await wait_quiet(page)
            result["reply_in_page"] = (await reply_texts(page))[-1]
            record = session.engine.conversation.turns[-1]
            result.update(user_text=record.user_text, view=record.view, view_text=record.view_text, reply=record.reply_text)
            await ctx.close()
            await browser.close()
    finally:
        await server.stop()
        await backends.aclose()
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
