"""End-to-end run of the browser server with a real Chromium (Playwright), headless.

Run it inside a loopback-only network namespace (tests/server/test_e2e_browser.py does:
``unshare -n sh -c 'ip link set lo up && exec python tests/server/e2e_driver.py ...'``).
It starts the server in-process (HTTPS, self-signed, ICE on 127.0.0.1 only) with the
fast embedded LLM, drives Chromium with a fake camera and a spoken question as the fake
microphone, and writes one JSON object of observations; the pytest module asserts on it.

Scenarios, in order: access without/with a wrong token; one spoken turn (Space held over
the question) with the release-to-first-audio time measured in the page; Cancel during a
reply; a phone-sized page using the Talk button by touch; two more browsers at once
(isolation); garbage on a raw WebSocket, after which the first page still gets answers;
a refresh and a server restart, after which the page reconnects by itself. Then
hands-free, in a fresh page: switched on, the fake microphone's question (its file
restarts when the page reopens the microphone) becomes a turn with no key pressed; the
reopened file's question talks over a long reply (barge-in) and becomes the next turn;
after a reload the page is still hands-free; switched off, Space works again.

``--latency-runs N`` only measures: N spoken turns, each in a fresh page (``--same-page``:
one conversation in one page, the microphone reopened after each reply), and records the
time from releasing Space to the first reply audio the page plays (from its getStats).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

QUESTION = "What is the capital of France?"
LEAD_SILENCE_S = 3.0
WORD_MS = 220  # a spoken word's length, at the least (the Piper voice: 267-271 ms a word)
LEVEL = 0.01  # RMS in [0, 1]: above this the page is playing the reply's voice
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
    "--auto-select-desktop-capture-source=Entire screen",  # getDisplayMedia without a picker
]

# Polls the page's own WebRTC stats every 25 ms: bytes received, the reply's audio level
# (from the growth of totalAudioEnergy over totalSamplesDuration) and the stats' level.
MONITOR_JS = """
() => {
  if (window.__mon) return;
  const mon = { samples: [], last: null };
  window.__mon = mon;
  setInterval(async () => {
    const pc = window.aiwebcam && window.aiwebcam.pc;
    if (!pc) return;
    // the reply's receiver only: the whole connection's stats (video, transports, codecs)
    // 40 times a second took the page's main thread from the cores the server shares
    const receiver = pc.getReceivers().find((r) => r.track && r.track.kind === "audio");
    if (!receiver) return;
    const stats = await receiver.getStats();
    stats.forEach((r) => {
      if (r.type !== "inbound-rtp" || r.kind !== "audio") return;
      const now = performance.now();
      const energy = r.totalAudioEnergy || 0, dur = r.totalSamplesDuration || 0;
      let rms = 0;
      if (mon.last && dur > mon.last.dur) rms = Math.sqrt(Math.max(0, energy - mon.last.energy) / (dur - mon.last.dur));
      mon.last = { energy, dur };
      mon.samples.push({ t: now, bytes: r.bytesReceived || 0, level: r.audioLevel || 0, rms,
                         jb: r.jitterBufferDelay || 0, jbCount: r.jitterBufferEmittedCount || 0,
                         jbTarget: r.jitterBufferTargetDelay || 0 });
    });
  }, 25);
}
"""


# The page uses ``source`` and its video sender sends a track whose label passes ``test``
# (a page script; format it with both).
SENDER_SENDS = """() => {{
  const state = window.aiwebcam.state;
  const label = state.videoSender && state.videoSender.track ? state.videoSender.track.label : "";
  return state.source === "{source}" && label !== "" && {test};
}}"""


def driver_work_dir(prefix: str) -> Path:
    """A fresh folder for a driver's run; the app's data and config go in it (unless the
    environment already says where)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("AIWEBCAM_DATA_DIR", str(work / "data"))
    os.environ.setdefault("AIWEBCAM_CONFIG_DIR", str(work / "config"))
    return work


def log(*parts) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


def make_question_wav(directory: Path, text: str = QUESTION, name: str = "question", lead_s: float = LEAD_SILENCE_S) -> tuple[Path, float]:
    """Piper saying ``text``, 48 kHz mono, after ``lead_s`` (3 s) of silence; returns (path, speech ms)."""
    from desktop_app.media.audio_file import load_audio, write_wav
    from tests.speech import piper_wav

    speech = load_audio(piper_wav(text, lead_silence_s=0.0, tail_silence_s=0.0), sample_rate=48000)
    import numpy as np

    pcm = np.concatenate([np.zeros(int(48000 * lead_s), np.float32), speech, np.zeros(48000 * 2, np.float32)])
    path = directory / f"{name}-48k.wav"
    write_wav(path, pcm, 48000)
    return path, speech.size / 48.0


async def page_now(page) -> float:
    return await page.evaluate("performance.now()")


async def samples(page, since: float = 0.0) -> list[dict]:
    return await page.evaluate("(since) => window.__mon.samples.filter((s) => s.t >= since)", since)


def arrival_and_playout(got: list[dict], released: float, first_audio: float | None) -> dict:
    """Where the page's wait goes: the reply's first packet reaching the page (its bytes
    grow faster than the 3-byte silence packets'), then the jitter buffer until it plays;
    and the jitter buffer's mean delay and target (WebRTC stats) then."""
    arrived = next((b["t"] for a, b in zip(got, got[1:]) if b["bytes"] - a["bytes"] > 30), None)
    result: dict = {"release_to_arrival_ms": None if arrived is None else round(arrived - released)}
    result["arrival_to_playout_ms"] = None if arrived is None or first_audio is None else round(first_audio - arrived)
    before = [s for s in got if s["t"] <= (first_audio or 0)]
    if len(before) >= 2 and before[-1]["jbCount"] > before[0]["jbCount"]:
        first, last = before[0], before[-1]
        result["jitter_buffer_ms"] = round(1000 * (last["jb"] - first["jb"]) / (last["jbCount"] - first["jbCount"]))
        result["jitter_buffer_target_ms"] = round(1000 * (last["jbTarget"] - first["jbTarget"]) / (last["jbCount"] - first["jbCount"]))
    return result


async def wait_level(page, above: bool, since: float, timeout_s: float, hold_ms: float = 0.0) -> float | None:
    """Page time of the first sample after ``since`` whose level is above (or, held for
    ``hold_ms``, below) LEVEL; None on timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = await samples(page, since)
        if above:
            for s in got:
                if s["rms"] > LEVEL:
                    return s["t"]
        else:
            quiet_since = None
            for s in got:
                if s["rms"] <= LEVEL / 2:
                    quiet_since = s["t"] if quiet_since is None else quiet_since
                    if s["t"] - quiet_since >= hold_ms:
                        return quiet_since
                else:
                    quiet_since = None
        await asyncio.sleep(0.1)
    return None


async def open_page(browser, url: str, **context_args):
    context = await browser.new_context(ignore_https_errors=True, **context_args)
    page = await context.new_page()
    page.on("console", lambda m: log("console:", m.text) if m.type in ("error", "warning") else None)
    response = await page.goto(url)
    assert response is not None and response.status == 200, f"page status {response and response.status}"
    await page.evaluate(MONITOR_JS)
    started = time.monotonic()
    await page.wait_for_selector("body[data-state=connected]", timeout=60000)
    return context, page, (time.monotonic() - started) * 1000


async def user_texts(page) -> list[str]:
    return await page.eval_on_selector_all(".msg.user:not(.pending) .text", "els => els.map(e => e.textContent)")


def as_page_shows(markdown: str) -> str:
    """The words a page shows for a stored markdown reply: markup rendered away, spacing ignored
    (the page's `textContent` joins list items and paragraphs without separators)."""
    from html import unescape

    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": False}).render(markdown)  # the page escapes raw HTML
    blocks = re.sub(r"</?(?:p|li|ul|ol|h\d|pre|blockquote|br|hr|tr|td|th|table)\b[^>]*>", " ", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", blocks)).split())


def same_words(in_page: str | None, stored: str) -> bool:
    """The page shows the stored reply: the same characters once markup and spacing are ignored."""
    squash = lambda text: re.sub(r"\s+", "", text)
    return in_page is not None and squash(in_page) == squash(as_page_shows(stored))


async def reply_texts(page) -> list[str]:
    return await page.eval_on_selector_all(".msg.assistant .text", "els => els.map(e => e.textContent)")


async def stop_if_running(page) -> None:
    """Cancel the reply unless it has ended already (a short reply may end before the
    click: Cancel is disabled then, and a click would wait for it in vain)."""
    try:
        await page.click("#cancel", timeout=3000)
    except Exception:  # playwright's TimeoutError: the reply ended first
        if await page.is_enabled("#cancel"):
            raise


async def wait_quiet(page, timeout_s: float = 300) -> None:
    """Until the reply has finished playing (the server says it stopped speaking)."""
    await page.wait_for_function("() => !window.aiwebcam.state.speaking && !window.aiwebcam.state.busyTurn", timeout=timeout_s * 1000)


async def type_message(page, text: str) -> None:
    await page.fill("#text-input", text)
    await page.press("#text-input", "Enter")


# ---- scenarios ---------------------------------------------------------------------


async def scenario_auth(browser, base: str, out: dict) -> None:
    context = await browser.new_context(ignore_https_errors=True)
    page = await context.new_page()
    for label, url in (("missing", base + "/"), ("wrong", base + "/?token=not-the-token"), ("script", base + "/app.js")):
        response = await page.goto(url)
        out[f"status_{label}"] = response.status if response else None
        out[f"has_talk_button_{label}"] = await page.locator("#talk").count() > 0
    await context.close()


async def scenario_spoken_turn(
    page, speech_ms: float, out: dict, shots: Path, shot: str = "desktop.png", lead_s: float = LEAD_SILENCE_S
) -> None:
    users_before = len(await user_texts(page))
    media_at = await page.evaluate("window.aiwebcam.mediaAt")
    now = await page_now(page)
    press_at = media_at + lead_s * 1000 - 400
    release_at = media_at + lead_s * 1000 + speech_ms + 500
    out["late_ms"] = max(0.0, now - press_at)
    await asyncio.sleep(max(0.0, press_at - now) / 1000)
    await page.keyboard.down("Space")
    out["recording_shown"] = await page.wait_for_selector(".talk.recording", timeout=10000) is not None
    await asyncio.sleep(max(0.0, release_at - await page_now(page)) / 1000)
    bytes_before = (await samples(page))[-1]["bytes"]
    await page.keyboard.up("Space")
    released = await page.evaluate("window.aiwebcam.releasedAt")

    await page.wait_for_function(f"() => document.querySelectorAll('.msg.user:not(.pending)').length > {users_before}", timeout=300000)
    out["transcript"] = (await user_texts(page))[-1]
    first_audio = await wait_level(page, True, released, timeout_s=300)
    out["release_to_first_audio_ms"] = None if first_audio is None else round(first_audio - released)
    out.update(arrival_and_playout(await samples(page, released), released, first_audio))
    await page.wait_for_function("() => document.querySelector('.msg.assistant:last-child .text')?.textContent.trim().length > 0", timeout=300000)
    await wait_quiet(page)
    got = await samples(page, released)
    out["reply"] = (await reply_texts(page))[-1]
    out["bytes_received_growth"] = got[-1]["bytes"] - bytes_before
    out["max_rms_during_reply"] = max(s["rms"] for s in got)
    out["max_stats_audio_level"] = max(s["level"] for s in got)
    out["metrics_line"] = await page.eval_on_selector_all(".msg.assistant .meta", "els => els.map(e => e.textContent).pop() || ''")
    await page.screenshot(path=str(shots / shot))


async def scenario_cancel(page, out: dict) -> None:
    await type_message(page, "Tell me a long story about a brave knight who fights a dragon.")
    start = await page_now(page)
    speaking_at = await wait_level(page, True, start, timeout_s=300)
    out["reply_was_playing"] = speaking_at is not None
    await asyncio.sleep(0.6)
    out["cancel_enabled"] = await page.is_enabled("#cancel")
    await page.click("#cancel")
    cancelled_at = await page_now(page)
    await page.wait_for_selector(".msg.assistant.interrupted", timeout=10000)
    out["marked_interrupted"] = True
    text_at_cancel = (await reply_texts(page))[-1]
    await asyncio.sleep(3.0)
    out["reply_text_changed_after_cancel"] = (await reply_texts(page))[-1] != text_at_cancel
    after = await samples(page, cancelled_at + 1000)
    out["samples_after_cancel"] = len(after)
    out["max_rms_after_cancel"] = max((s["rms"] for s in after), default=None)
    quiet_from = await wait_level(page, False, cancelled_at, timeout_s=5, hold_ms=300)
    out["cancel_to_silence_ms"] = None if quiet_from is None else round(max(0.0, quiet_from - cancelled_at))
    await wait_quiet(page)


MARKDOWN_JS = r"""
async () => {
  const cases = {
    hostile: '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1<\/script> **bold** and *em* ' +
             '[bad](javascript:window.__pwned=1) [good](https://example.com/a) <b onclick="x()">b</b>',
    code: "Here:\n```python\nprint('<b>hi</b>')\n```\nDone `x<y>` ok",
    lists: "# Title\n- one\n- two *em*\n\n1. a\n2. b\n\n> quoted",
    unfinished: "Streaming **bold and\n```js\nconst a = 1;",
  };
  const out = {};
  for (const [name, source] of Object.entries(cases)) {
    const div = document.createElement("div");
    div.hidden = true;
    div.appendChild(window.renderMarkdown(source));
    document.body.appendChild(div);
    out[name] = {
      text: div.textContent,
      dangerous: div.querySelectorAll("img, script, iframe, [onerror], [onclick], b").length,
      links: [...div.querySelectorAll("a")].map((a) => a.getAttribute("href")),
      strong: div.querySelectorAll("strong").length,
      em: div.querySelectorAll("em").length,
      code: [...div.querySelectorAll("pre code")].map((c) => c.textContent),
      inline_code: [...div.querySelectorAll("p code")].map((c) => c.textContent),
      ul: div.querySelectorAll("ul > li").length,
      ol: div.querySelectorAll("ol > li").length,
      headings: div.querySelectorAll("h3").length,
      quotes: div.querySelectorAll("blockquote").length,
    };
    div.remove();
  }
  await new Promise((r) => setTimeout(r, 300));
  out.pwned = window.__pwned === 1;
  return out;
}
"""


async def scenario_markdown(page, out: dict) -> None:
    out.update(await page.evaluate(MARKDOWN_JS))


async def scenario_touch_and_isolation(browser, url: str, speech_ms: float, out: dict, shots: Path) -> None:
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
    ctx_b, page_b, _ = await open_page(browser, url, **phone)
    ctx_c, page_c, _ = await open_page(browser, url, viewport={"width": 1100, "height": 760})
    # Touch push-to-talk after the fake microphone's speech is over: silence -> "no speech".
    media_at = await page_b.evaluate("window.aiwebcam.mediaAt")
    wait_ms = media_at + LEAD_SILENCE_S * 1000 + speech_ms + 1500 - await page_now(page_b)
    await asyncio.sleep(max(0.0, wait_ms) / 1000)
    await page_b.dispatch_event("#talk", "pointerdown", {"pointerType": "touch", "button": 0, "isPrimary": True, "pointerId": 7})
    out["touch_recording_shown"] = await page_b.wait_for_selector(".talk.recording", timeout=10000) is not None
    await asyncio.sleep(1.0)
    await page_b.dispatch_event("#talk", "pointerup", {"pointerType": "touch", "button": 0, "isPrimary": True, "pointerId": 7})
    notice = await page_b.wait_for_selector(".notice", timeout=60000)
    out["touch_notice"] = await notice.text_content()

    b_replies_before = len(await reply_texts(page_b))
    start_c = await page_now(page_c)
    b_start = await page_now(page_b)
    await type_message(page_b, "My name is Alice. Say hello to me.")
    await page_b.wait_for_function(
        f"() => [...document.querySelectorAll('.msg.assistant .text')].filter((e) => e.textContent.trim()).length > {b_replies_before}",
        timeout=300000,
    )
    b_playing = await wait_level(page_b, True, b_start, timeout_s=60)
    out["b_reply_played"] = b_playing is not None
    await wait_quiet(page_b)
    # what B's page received and played, for a failure to say which side went quiet
    got_b = await samples(page_b, b_start)
    out["b_playout"] = {
        "samples": len(got_b),
        "max_rms": round(max((s["rms"] for s in got_b), default=0.0), 4),
        "max_level": round(max((s["level"] for s in got_b), default=0.0), 4),
        "bytes_growth": (got_b[-1]["bytes"] - got_b[0]["bytes"]) if got_b else 0,
        "reply": (await reply_texts(page_b))[-1:],
        "notices": await page_b.eval_on_selector_all(".notice", "els => els.map(e => e.textContent)"),
    }
    out["c_max_rms_while_b_spoke"] = max((s["rms"] for s in await samples(page_c, start_c)), default=0.0)
    await type_message(page_c, "My name is Bob. Say hello to me.")
    await page_c.wait_for_selector(".msg.assistant .text", timeout=300000)
    await wait_quiet(page_c)
    out["b_user_texts"] = await user_texts(page_b)
    out["c_user_texts"] = await user_texts(page_c)
    out["b_replies"] = await reply_texts(page_b)
    out["c_replies"] = await reply_texts(page_c)
    await page_b.screenshot(path=str(shots / "phone.png"))
    await ctx_b.close()
    await ctx_c.close()


async def scenario_garbage(base: str, token: str, page_a, out: dict) -> None:
    import aiohttp

    ws_url = base.replace("https", "wss") + f"/ws?token={token}"
    messages: list[dict] = []
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(ws_url, ssl=False, headers={"Origin": base}) as ws:
            hello = json.loads((await ws.receive(timeout=10)).data)
            out["hello"] = hello.get("type")
            junk = [
                "this is not json",
                "[1, 2, 3]",
                '{"type": "nope"}',
                '{"type": "offer", "sdp": "v=0\\r\\nm=audio garbage\\r\\n"}',
                '{"type": "offer", "sdp": 42}',
                json.dumps({"type": "text", "text": "x" * 70000}),
                '{"type": "ptt", "action": "sideways"}',
            ]
            for item in junk:
                await ws.send_str(item)
            await ws.send_bytes(b"\x00\x01\x02binary")
            await ws.send_str('{"type": "ping"}')
            while True:
                msg = await ws.receive(timeout=30)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    out["garbage_socket_closed"] = True
                    break
                data = json.loads(msg.data)
                messages.append(data)
                if data["type"] == "pong":
                    break
        out["garbage_replies"] = [m["type"] for m in messages]
        out["garbage_errors"] = [m.get("message", "") for m in messages if m["type"] == "error"]
        async with http.get(base + f"/?token={token}", ssl=False) as response:
            out["page_status_after_garbage"] = response.status
    before = len(await reply_texts(page_a))
    await type_message(page_a, "Say hello.")
    await page_a.wait_for_function(f"() => document.querySelectorAll('.msg.assistant').length > {before}", timeout=300000)
    await page_a.wait_for_function(
        f"() => document.querySelectorAll('.msg.assistant .text')[{before}].textContent.trim().length > 0", timeout=300000
    )
    out["first_page_still_answered"] = True
    out["first_page_state"] = await page_a.evaluate("document.body.dataset.state")


# ---- hands-free ----------------------------------------------------------------------

# Records every text the hands-free indicator shows, with the page time.
LABELS_JS = """
() => {
  if (window.__labels) return;
  const label = document.getElementById("hf-label");
  window.__labels = [];
  const note = () => {
    const last = window.__labels[window.__labels.length - 1];
    if (!last || last.text !== label.textContent) window.__labels.push({ t: performance.now(), text: label.textContent });
  };
  new MutationObserver(note).observe(label, { childList: true, characterData: true, subtree: true });
  note();
}
"""

MIC_JS = """
() => {
  const s = window.aiwebcam.state.audioSender.track.getSettings();
  return { echo_cancellation: s.echoCancellation, noise_suppression: s.noiseSuppression, auto_gain: s.autoGainControl };
}
"""


def session_of(server, page_session_id: str):
    return next(s for s in server.sessions if s.id == page_session_id)


async def mode_view(page) -> dict:
    return await page.evaluate(
        """() => ({
          mode: window.aiwebcam.state.mode,
          stored: localStorage.getItem("aiwebcam.mode"),
          toggle: document.getElementById("hands-free").getAttribute("aria-checked"),
          talk_hidden: document.getElementById("talk").hidden,
          indicator_hidden: document.getElementById("hf-status").hidden,
        })"""
    )


async def scenario_hands_free_turn(page, server, out: dict) -> None:
    """Hands-free on: the question the reopened microphone plays becomes a turn, no key pressed."""
    out["before"] = await mode_view(page)
    sdp_before = await page.evaluate("window.aiwebcam.pc.localDescription.sdp")
    await page.evaluate(LABELS_JS)
    await page.click("#hands-free")
    await page.wait_for_function("() => window.aiwebcam.state.listening === 'idle'", timeout=30000)
    opened_at = await page.evaluate("window.aiwebcam.mediaAt")  # the fake mic's file starts again here
    out["after"] = await mode_view(page)
    out["mic"] = await page.evaluate(MIC_JS)
    session = session_of(server, await page.evaluate("window.aiwebcam.state.sessionId"))
    out["server_hands_free"] = session.hands_free is not None and session.hands_free.status.on
    await page.wait_for_function("() => window.aiwebcam.state.listening === 'hearing'", timeout=30000)
    out["speech_to_hearing_ms"] = round(await page_now(page) - opened_at - LEAD_SILENCE_S * 1000)
    await page.wait_for_function("() => document.querySelectorAll('.msg.user:not(.pending)').length > 0", timeout=300000)
    out["transcript"] = (await user_texts(page))[-1]
    reply_audio_at = await wait_level(page, True, opened_at + LEAD_SILENCE_S * 1000, timeout_s=300)
    out["reply_audio_after_speech_start_ms"] = None if reply_audio_at is None else round(reply_audio_at - opened_at - LEAD_SILENCE_S * 1000)
    await page.wait_for_function("() => document.querySelector('.msg.assistant .text')?.textContent.trim().length > 0", timeout=300000)
    await asyncio.sleep(1.0)
    out["max_rms_during_reply"] = max(s["rms"] for s in await samples(page, opened_at))
    await stop_if_running(page)  # heard enough: the next scenarios need no long wait
    await wait_quiet(page)
    await asyncio.sleep(0.3)
    out["labels"] = [entry["text"] for entry in await page.evaluate("window.__labels")]
    out["same_peer_connection"] = sdp_before == await page.evaluate("window.aiwebcam.pc.localDescription.sdp")
    out["stored_turns"] = len(session.engine.conversation.turns)
    out["image_file"] = session.engine.conversation.turns[0].image_file  # the frame went with the turn


async def scenario_barge_in(page, server, out: dict, shots: Path) -> None:
    """Talking over a long reply stops it; what was said becomes the next turn."""
    session = session_of(server, await page.evaluate("window.aiwebcam.state.sessionId"))
    track = session.audio_track
    at_barge_in: list = []  # the server's track when HandsFree reported the barge-in (after engine.cancel())
    session.hands_free.hands_free.subscribe(
        lambda e: at_barge_in.append((track.played, track.queued_ms, session.engine.speaking)) if type(e).__name__ == "BargeIn" else None
    )
    # The question comes 3 s after the microphone reopens and needs 0.5 s of speech to
    # interrupt: the story must have that much left to say. The test model (SmolLM2
    # 135M, sampled) sometimes ends a "long story" after one sentence; ask again then
    # (CI once got four short ones in a row: up to eight tries). Each try after the first
    # asks in a fresh conversation: with the short stories before it in the prompt, the
    # small model wrote the same 8 words eight times in a row (CI, 2026-12-05).
    tries: list[str] = []
    for attempt in range(1, 9):
        if attempt > 1:
            session.engine.new_conversation()
        turns_before = len(session.engine.conversation.turns)
        users_before = len(await user_texts(page))
        start = await page_now(page)
        story = await story_with_time_left(page, session, (LEAD_SILENCE_S + 1.5) * 1000, tries)
        if story is not None:
            break
        log(f"barge_in: story {attempt} was too short to talk over ({tries[-1]}); asking again")
        await wait_quiet(page)
    else:
        raise AssertionError(f"the model never wrote a story long enough to talk over: {tries}")
    out["story_attempts"] = attempt
    out["reply_was_playing"] = await wait_level(page, True, start, timeout_s=10) is not None
    log("barge_in: the story plays")
    await page.evaluate("window.aiwebcam.reopenMic()")  # the question again, 3 s from now
    reopened_at = await page.evaluate("window.aiwebcam.mediaAt")
    await page.wait_for_function("() => window.aiwebcam.bargeIns.length > 0", timeout=60000)
    barge_in = (await page.evaluate("window.aiwebcam.bargeIns"))[0]
    log("barge_in: the reply was interrupted")
    played, queued_ms, speaking = at_barge_in[0]
    out["server_at_barge_in"] = {"played_turn": played.turn_id if played else None, "queued_ms": queued_ms, "speaking": speaking}
    out["barge_in"] = {k: barge_in[k] for k in ("turn_id", "stop_ms")}
    out["speech_to_barge_in_ms"] = round(barge_in["at"] - reopened_at - LEAD_SILENCE_S * 1000)
    tag = await page.wait_for_selector(f".msg.assistant.interrupted[data-turn='{barge_in['turn_id']}'] .tag", timeout=10000)
    out["tag"] = await tag.text_content()
    # innerText: the page's paragraphs and list items as separate words (textContent runs them together)
    story_text_on_page = (await page.eval_on_selector_all(".msg.assistant .text", "els => els.map(e => e.innerText)"))[-1]
    # The page goes quiet (for 300 ms) before the new reply can start. On a loaded
    # machine the page may still play what its jitter buffer holds: up to ~2 s seen.
    quiet_from = await wait_level(page, False, barge_in["at"], timeout_s=5, hold_ms=300)
    out["barge_in_to_silence_ms"] = None if quiet_from is None else round(max(0.0, quiet_from - barge_in["at"]))
    await page.wait_for_function(f"() => document.querySelectorAll('.msg.user:not(.pending)').length > {users_before + 1}", timeout=300000)
    out["transcript"] = (await user_texts(page))[-1]
    log("barge_in: the new turn's transcript arrived")
    transcript_at = await page_now(page)
    await page.wait_for_function("() => document.querySelector('.msg.assistant:last-child .text')?.textContent.trim().length > 0", timeout=300000)
    out["new_reply_played"] = await wait_level(page, True, transcript_at, timeout_s=300) is not None
    await page.screenshot(path=str(shots / "hands-free.png"))
    await stop_if_running(page)  # enough heard: the next scenario needs no long wait
    await wait_quiet(page)
    stored = session.engine.conversation.turns[turns_before]
    out["stored_interrupted"] = stored.interrupted
    # as the page shows it: list markers and emphasis are markup, not words on the page
    out["stored_reply_words"] = len(as_page_shows(stored.reply_text).split())
    out["page_reply_words"] = len(story_text_on_page.split())
    out["stored_turns_after"] = len(session.engine.conversation.turns) - turns_before
    out["page_bargeins"] = len(await page.evaluate("window.aiwebcam.bargeIns"))


async def story_with_time_left(page, session, left_ms: float, tries: list[str]):
    """Ask for a long story; the turn once half a second of it has gone out with at least
    ``left_ms`` more already synthesized (None: the reply ended with less; why is
    appended to ``tries``)."""
    previous = session.engine.current
    await type_message(page, "Tell me a long story about a brave knight who fights a dragon.")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        story, played = session.engine.current, session.audio_track.played
        if story is not previous and played is not None and played.turn_id == story.id and played.sequence >= 25:
            played_ms = (played.sequence + 1) * 20
            left = story.metrics.audio_ms - played_ms
            # Audio synthesized ahead, or words written ahead (counted at WORD_MS each;
            # a lower bound): on a loaded machine Piper may keep only a sentence or two ahead
            # of the voice while the model still writes the rest.
            if max(left, len(story.reply_text.split()) * WORD_MS - played_ms) >= left_ms:
                return story
            if story.done:
                tries.append(
                    f"{len(story.reply_text.split())} words, {story.metrics.audio_ms:.0f} ms of audio, {left:.0f} ms left"
                    f" at packet {played.sequence}, interrupted={story.interrupted}"
                )
                return None
        await asyncio.sleep(0.05)
    raise TimeoutError("the story never played")


async def scenario_hands_free_remembered_then_off(page, server, speech_ms: float, out: dict, shots: Path) -> None:
    """A reload keeps hands-free (localStorage); switching it off brings push-to-talk back."""
    await page.reload()
    await page.evaluate(MONITOR_JS)
    await page.wait_for_selector("body[data-state=connected]", timeout=60000)
    await page.wait_for_function("() => window.aiwebcam.state.listening === 'idle'", timeout=30000)
    out["after_reload"] = await mode_view(page)
    out["mic_after_reload"] = await page.evaluate(MIC_JS)
    session = session_of(server, await page.evaluate("window.aiwebcam.state.sessionId"))
    out["server_hands_free_after_reload"] = session.hands_free is not None
    await page.click("#hands-free")
    await page.wait_for_function("() => window.aiwebcam.state.mode === 'ptt' && !window.aiwebcam.state.switching", timeout=30000)
    await page.wait_for_function("() => window.aiwebcam.state.listening === 'off'", timeout=30000)
    out["after_off"] = await mode_view(page)
    out["mic_after_off"] = await page.evaluate(MIC_JS)
    out["server_hands_free_after_off"] = session.hands_free is not None
    turn: dict = {}
    await scenario_spoken_turn(page, speech_ms, turn, shots, "push-to-talk-again.png")  # Space, over the reopened file's question
    out["ptt"] = {k: turn[k] for k in ("late_ms", "recording_shown", "transcript", "release_to_first_audio_ms")}


async def run_hands_free(browser, url: str, get_server, speech_ms: float, shots: Path, run) -> None:
    context, page, _ = await open_page(browser, url, viewport={"width": 1280, "height": 800})
    try:
        await run("hands_free_turn", lambda out: scenario_hands_free_turn(page, get_server(), out))
        await run("barge_in", lambda out: scenario_barge_in(page, get_server(), out, shots))
        await run("hands_free_off", lambda out: scenario_hands_free_remembered_then_off(page, get_server(), speech_ms, out, shots))
    finally:
        await context.close()


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--shots", required=True, type=Path)
    parser.add_argument("--latency-runs", type=int, default=0, help="only measure: N spoken turns, each in a fresh page")
    parser.add_argument("--same-page", action="store_true", help="(with --latency-runs) the N turns in one page, one conversation")
    parser.add_argument("--llm-model", default="smollm2-135m", help="embedded LLM (default: the fast test model)")
    parser.add_argument("--hands-free-only", action="store_true", help="only the hands-free scenarios")
    args = parser.parse_args()
    args.shots.mkdir(parents=True, exist_ok=True)
    work = driver_work_dir("aiwebcam-e2e-")

    from playwright.async_api import async_playwright

    from desktop_app.backends.factory import make_backends
    from desktop_app.config import AppPaths, Settings
    from desktop_app.server.app import ServerConfig, WebcamServer

    results: dict = {"errors": {}}
    wav, speech_ms = make_question_wav(work)
    results["question_speech_ms"] = round(speech_ms)
    settings = Settings(llm_provider="embedded", llm_model=args.llm_model, llm_max_tokens=60)
    paths = AppPaths.from_env()
    backends = make_backends(settings, paths)
    await asyncio.gather(backends.asr.load(), backends.llm.load(), backends.tts.load())
    server = WebcamServer(
        backends, settings, paths, ServerConfig(host="127.0.0.1", port=0, tls=True, ice_hosts=["127.0.0.1"], max_sessions=6)
    )
    url = await server.start()
    base = url.split("/?")[0]
    results["join_url_scheme"] = url.split(":")[0]
    log("server at", url)
    server_events: list[str] = []
    server.subscribe(lambda e: server_events.append(type(e).__name__) if type(e).__name__ != "SessionEvent" else None)

    async def run(name, coro):
        out = results.setdefault(name, {})
        log("scenario", name)
        try:
            await coro(out)
        except Exception as exc:
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc()
        log("scenario", name, "done:", json.dumps(out)[:600])

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
        )
        try:
            if args.latency_runs:
                await measure_latency(browser, url, speech_ms, args, results)
                return await finish(server, results, args.out, [])
            if args.hands_free_only:
                await run_hands_free(browser, url, lambda: server, speech_ms, args.shots, run)
                return await finish(server, results, args.out, [])
            await run("auth", lambda out: scenario_auth(browser, base, out))
            main_ctx = {}

            async def connect(out):
                ctx, page, connect_ms = await open_page(browser, url, viewport={"width": 1280, "height": 800})
                main_ctx.update(ctx=ctx, page=page)
                out["connect_ms"] = round(connect_ms)
                out["state"] = await page.evaluate("document.body.dataset.state")
                out["sessions_on_server"] = len(server.sessions)

            await run("connect", connect)
            if "page" in main_ctx:
                page = main_ctx["page"]
                await run("spoken_turn", lambda out: scenario_spoken_turn(page, speech_ms, out, args.shots))

                async def frame_stored(out):  # the frame at release went with the turn
                    from PIL import Image

                    session = server.sessions[0]
                    record = session.engine.conversation.turns[0]
                    out["image_file"] = record.image_file
                    with Image.open(session.engine.store.image_path(record.image_file)) as img:
                        out["image_size"] = list(img.size)
                    out["video_frames_received"] = session.peer.video_frames

                await run("vision_frame", frame_stored)
                await run("cancel", lambda out: scenario_cancel(page, out))
                await run("markdown", lambda out: scenario_markdown(page, out))

                async def switch_source(out):  # camera -> screen -> camera, no reconnect
                    session = server.sessions[0]
                    pc_before = await page.evaluate("window.aiwebcam.pc.localDescription.sdp")

                    async def new_frames(at_least=3, timeout_s=60.0):
                        """Frames the server receives after now (waits: the machine may be busy)."""
                        start = session.peer.video_frames
                        deadline = time.monotonic() + timeout_s
                        while session.peer.video_frames - start < at_least and time.monotonic() < deadline:
                            await asyncio.sleep(0.1)
                        frame = session.latest_frame
                        return session.peer.video_frames - start, [frame.width, frame.height]

                    out["camera"] = await new_frames()
                    await page.click("#use-screen")
                    # The page shows the new source at once and swaps the sender's track after
                    # (replaceTrack resolves later on a busy machine): wait for the sender.
                    await page.wait_for_function(SENDER_SENDS.format(source="screen", test="label.startsWith('screen')"), timeout=30000)
                    out["screen_track"] = await page.evaluate("window.aiwebcam.state.videoSender.track.label")
                    out["screen"] = await new_frames()
                    await page.click("#use-camera")
                    await page.wait_for_function(SENDER_SENDS.format(source="camera", test="!label.startsWith('screen')"), timeout=30000)
                    out["camera_track"] = await page.evaluate("window.aiwebcam.state.videoSender.track.label")
                    out["screen_track_stopped"] = await page.evaluate("window.aiwebcam.state.screen === null")
                    out["camera_again"] = await new_frames()
                    out["same_session"] = server.sessions[0] is session and len(server.sessions) == 1
                    out["same_peer_connection"] = pc_before == await page.evaluate("window.aiwebcam.pc.localDescription.sdp")

                await run("source_switch", switch_source)
            await run("isolation", lambda out: scenario_touch_and_isolation(browser, url, speech_ms, out, args.shots))
            if "page" in main_ctx:
                await run("garbage", lambda out: scenario_garbage(base, server.token, main_ctx["page"], out))

                async def reconnect(out):
                    nonlocal server
                    page = main_ctx["page"]
                    first_id = await page.evaluate("window.aiwebcam.state.sessionId")
                    await page.reload()
                    await page.evaluate(MONITOR_JS)
                    await page.wait_for_selector("body[data-state=connected]", timeout=60000)
                    out["after_refresh_new_session"] = await page.evaluate("window.aiwebcam.state.sessionId") != first_id
                    port = server.port
                    await server.stop()
                    await page.wait_for_function("() => document.body.dataset.state !== 'connected'", timeout=30000)
                    out["state_while_down"] = await page.evaluate("document.body.dataset.state")
                    await asyncio.sleep(2.0)
                    server = WebcamServer(  # same data dir: same stored token, same certificate
                        backends, settings, paths,
                        ServerConfig(host="127.0.0.1", port=port, tls=True, ice_hosts=["127.0.0.1"], max_sessions=6),
                    )
                    await server.start()
                    await page.wait_for_selector("body[data-state=connected]", timeout=60000)
                    out["reconnected_after_restart"] = True
                    await type_message(page, "Say hi.")
                    await page.wait_for_selector(".msg.assistant .text", timeout=300000)
                    await wait_quiet(page)
                    out["answers_after_restart"] = len(await reply_texts(page)) >= 1

                await run("reconnect", reconnect)
                await main_ctx["ctx"].close()
            await run_hands_free(browser, url, lambda: server, speech_ms, args.shots, run)
        finally:
            await browser.close()
    return await finish(server, results, args.out, server_events)


async def measure_latency(browser, url: str, speech_ms: float, args, results: dict) -> None:
    """Only the spoken turn, N times: each in a fresh page (the fake mic file restarts), or
    with ``--same-page`` one conversation in one page, as a user stays (the microphone is
    reopened after each reply, which restarts the fake mic file)."""
    runs = results.setdefault("latency", [])
    ctx = page = None
    for i in range(args.latency_runs):
        if page is None:
            ctx, page, _ = await open_page(browser, url, viewport={"width": 1280, "height": 800})
        else:
            await page.evaluate("window.aiwebcam.reopenMic()")
        out: dict = {}
        await scenario_spoken_turn(page, speech_ms, out, args.shots)
        keys = ("release_to_first_audio_ms", "release_to_arrival_ms", "arrival_to_playout_ms", "jitter_buffer_ms", "jitter_buffer_target_ms", "metrics_line", "transcript")
        runs.append({k: out.get(k) for k in keys})
        log("latency run", i + 1, runs[-1])
        if not args.same_page:
            await ctx.close()
            ctx = page = None
    if ctx is not None:
        await ctx.close()


async def finish(server, results: dict, out: Path, server_events: list[str]) -> int:
    await asyncio.sleep(0.5)
    results["server_events"] = server_events  # of the first server (restarted in "reconnect")
    results["sessions_left"] = len(server.sessions)
    await server.stop()
    out.write_text(json.dumps(results, indent=2))
    log("results written to", out)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
