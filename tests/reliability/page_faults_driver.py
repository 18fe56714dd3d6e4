"""Faults of the chat endpoint as a browser user sees them: Debian Chromium on the page of
a real ``WebcamServer`` whose language model is an OpenAI-compatible endpoint.

* llama-cpp-python's own server (SmolLM2) is SIGKILLed in the middle of a streamed reply,
  then started again: the page shows one line on the cut reply and keeps its words; the
  next question, on the same page, is answered.
* a slow endpoint (first token after 20 s): the page says it is waiting, and Cancel ends
  the turn at once.

Run inside a loopback-only network namespace (see test_page_faults.py); writes what the
page showed, and what was stored, to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.server.e2e_driver import CHROMIUM_FLAGS, driver_work_dir, open_page, reply_texts, type_message, wait_quiet  # noqa: E402

LONG_QUESTION = "Count from one to one hundred in words, separated by commas."
AFTER = "Say thank you in one short sentence."
SLOW_QUESTION = "Tell me something."
LAST_REPLY = ".msg.assistant:last-of-type"


@contextlib.asynccontextmanager
async def webcam_server(settings, paths):
    from desktop_app.backends.factory import make_backends
    from desktop_app.server.app import ServerConfig, WebcamServer

    backends = make_backends(settings, paths)
    await backends.load()
    server = WebcamServer(backends, settings, paths, ServerConfig(host="127.0.0.1", port=0, tls=True, ice_hosts=["127.0.0.1"]))
    url = await server.start()
    try:
        yield server, url
    finally:
        await server.stop()
        await backends.aclose()


async def replies_count(page) -> int:
    return len(await reply_texts(page))


async def wait_new_reply(page, before: int, chars: int, timeout_s: float = 300) -> None:
    """Until the page shows a reply after the ``before`` it had, with ``chars`` characters."""
    await page.wait_for_function(
        "([n, chars]) => { const r = document.querySelectorAll('.msg.assistant .text');"
        " return r.length > n && r[r.length - 1].textContent.trim().length >= chars; }",
        arg=[before, chars],
        timeout=timeout_s * 1000,
    )


async def last_reply(page) -> dict:
    return await page.evaluate(
        """() => { const all = document.querySelectorAll('.msg.assistant');
        const m = all[all.length - 1];
        return { classes: [...m.classList], text: m.querySelector('.text')?.textContent || '',
                 tags: [...m.querySelectorAll('.tag')].map(t => t.textContent) }; }"""
    )


async def killed_mid_reply(browser, paths, work: Path, out: dict) -> None:
    from tests.llama_server import LlamaServer
    from tests.reliability.conftest import openai_settings

    llama = LlamaServer(work / "llama.log")
    await asyncio.to_thread(llama.start)
    try:
        settings = openai_settings(llama.base_url, llm_max_tokens=400)
        async with webcam_server(settings, paths) as (server, url):
            ctx, page, _ = await open_page(browser, url)
            before = await replies_count(page)
            await type_message(page, LONG_QUESTION)
            await wait_new_reply(page, before, 30)
            llama.kill()
            out["killed_with_reply_chars"] = len((await last_reply(page))["text"])
            await page.wait_for_selector(f"{LAST_REPLY}.failed .tag", timeout=60000)
            await wait_quiet(page)
            out["cut"] = await last_reply(page)
            out["toasts"] = await page.evaluate("() => document.getElementById('toast').textContent")
            await asyncio.to_thread(llama.start)
            before = await replies_count(page)
            await type_message(page, AFTER)
            await wait_new_reply(page, before, 1)
            await wait_quiet(page)
            out["after"] = await last_reply(page)
            session = server.sessions[0]
            out["stored"] = [
                {"user_text": t.user_text, "reply_text": t.reply_text, "interrupted": t.interrupted, "error": t.error}
                for t in session.engine.conversation.turns
            ]
            out["endpoint"] = llama.base_url
            await ctx.close()
    finally:
        llama.stop()


async def slow_endpoint(browser, paths, out: dict) -> None:
    from tests.openai_server import serve_in_thread
    from tests.reliability.conftest import openai_settings
    from tests.slow_chat_server import SlowChatServer

    slow = SlowChatServer(delay_s=20.0)
    with serve_in_thread(slow):  # type: ignore[arg-type]
        settings = openai_settings(slow.base_url, llm_model="slow-model")
        async with webcam_server(settings, paths) as (server, url):
            ctx, page, _ = await open_page(browser, url)
            await type_message(page, SLOW_QUESTION)
            await page.wait_for_function(
                "() => document.getElementById('toast').textContent.startsWith('Waiting for the model')", timeout=60000
            )
            out["waiting_toast"] = await page.evaluate("() => document.getElementById('toast').textContent")
            clicked = time.monotonic()
            await page.click("#cancel")
            await page.wait_for_function("() => !window.aiwebcam.state.busyTurn", timeout=30000)
            out["cancel_to_idle_ms"] = round((time.monotonic() - clicked) * 1000)
            out["cancelled"] = await last_reply(page)
            deadline = time.monotonic() + 5
            while not slow.disconnects and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            out["endpoint_hung_up_ms"] = round((slow.disconnects[0] - clicked) * 1000) if slow.disconnects else None
            out["endpoint_completed"] = slow.completed
            out["cancel_enabled_after"] = await page.is_enabled("#cancel")
            await ctx.close()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    work = driver_work_dir("aiwebcam-page-faults-")

    from playwright.async_api import async_playwright

    from desktop_app.config import AppPaths

    paths = AppPaths.from_env()
    result: dict = {"killed": {}, "slow": {}}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            try:
                await killed_mid_reply(browser, paths, work, result["killed"])
                await slow_endpoint(browser, paths, result["slow"])
            finally:
                await browser.close()
    finally:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
