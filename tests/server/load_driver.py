"""`serve` under load, a tab closed mid-turn, and browsers joining and leaving: real
Chromium pages, real WebRTC, the server in this process (so it can count what it holds).

Run inside a loopback-only network namespace (tests/server/test_serve_load.py):

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python tests/server/load_driver.py --out r.json close-tab'
    ... load            # 4 pages talking at once (push-to-talk), a fifth refused, garbage meanwhile
    ... joins --joins 50   # a page joins, one typed turn, leaves; N times

What is counted, in the server's process: sessions (``server.sessions``), asyncio tasks,
threads, open file descriptors, RSS; and, for a closed tab, whether the session, its
engine and its audio track are still referenced anywhere (weak references after a
garbage collection).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import sys
import threading
import time
import weakref
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.server.e2e_driver import (  # noqa: E402
    CHROMIUM_FLAGS,
    driver_work_dir,
    LEVEL,
    MONITOR_JS,
    log,
    make_question_wav,
    open_page,
    page_now,
    reply_texts,
    session_of,
    type_message,
    user_texts,
    wait_level,
    wait_quiet,
)

LONG_QUESTION = "Tell me a long story about a brave knight who fights a dragon."
PLACES = ("France", "Italy", "Japan", "Spain")  # one page each: its own question, its own voice


def census(server) -> dict:
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return {
        "sessions": len(server.sessions),
        "tasks": len(asyncio.all_tasks()),
        "threads": threading.active_count(),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss_mb": round(rss_kb / 1024, 1),
    }


def children_cpu_s() -> float:
    """CPU seconds (user + system) used so far by this process's living descendants: the
    Playwright driver and Chromium's processes."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    mine, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier and pid not in mine}
        mine |= frontier
    return sum(ticks[pid] for pid in mine) / os.sysconf("SC_CLK_TCK")


def _task_name(task: asyncio.Task) -> str:
    coro = task.get_coro()
    return getattr(coro, "__qualname__", None) or repr(coro)[:80]


def alive_objects() -> dict[str, int]:
    """How many session engines, turns, captures, audio tracks and peers exist (after a collection)."""
    gc.collect()
    names = ("Engine", "Turn", "SpeechCapture", "OpusAudioTrack", "BrowserPeer", "RTCPeerConnection")
    counts = dict.fromkeys(names, 0)
    for obj in gc.get_objects():
        name = type(obj).__name__
        if name in counts:
            counts[name] += 1
    return counts


async def freed(refs: dict[str, weakref.ref], timeout_s: float = 30.0) -> float | None:
    """Seconds until every object in ``refs`` is garbage (collected every 0.25 s); None: not."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        gc.collect()
        if all(ref() is None for ref in refs.values()):
            return round(time.monotonic() - start, 2)
        await asyncio.sleep(0.25)
    return None


async def settle(server, sessions: int, timeout_s: float = 30.0) -> float | None:
    """Seconds until the server holds ``sessions`` sessions (None: it did not)."""
    start = time.monotonic()
    while len(server.sessions) != sessions:
        if time.monotonic() - start > timeout_s:
            return None
        await asyncio.sleep(0.02)
    return time.monotonic() - start


async def quiet_tasks(limit: int, timeout_s: float = 10.0) -> int:
    """Wait (a little) for tasks that end by themselves after a close; the count then."""
    deadline = time.monotonic() + timeout_s
    while len(asyncio.all_tasks()) > limit and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return len(asyncio.all_tasks())


# ---- a tab closed in the middle of a turn ------------------------------------------------


async def scenario_close_tab(browser, url: str, server, out: dict, rounds: int) -> None:
    await asyncio.sleep(1.0)
    out["before"] = census(server)
    out["rounds"] = []
    for _ in range(rounds):
        ctx, page, _ = await open_page(browser, url, viewport={"width": 1100, "height": 760})
        session = session_of(server, await page.evaluate("window.aiwebcam.state.sessionId"))
        refs = {"session": weakref.ref(session), "engine": weakref.ref(session.engine), "audio_track": weakref.ref(session.audio_track)}
        if session.peer is not None:
            refs["peer"] = weakref.ref(session.peer)
        await type_message(page, LONG_QUESTION)
        playing = await wait_level(page, True, await page_now(page), timeout_s=300)
        turn = session.engine.current
        row = {"reply_was_playing": playing is not None, "turn_running": turn is not None and not turn.done, "during": census(server)}
        closed_at = time.monotonic()
        await ctx.close()  # the tab goes away: no goodbye on the WebSocket, the peer just stops
        released_s = await settle(server, 0)
        deadline = time.monotonic() + 30
        while session.audio_track.readyState != "ended" and time.monotonic() < deadline:  # the close's last step
            await asyncio.sleep(0.02)
        row["released_ms"] = None if released_s is None else round((time.monotonic() - closed_at) * 1000)
        row["session_closed"] = session.closed
        row["turn_done"] = turn.done if turn is not None else None
        row["track_state"] = session.audio_track.readyState
        record = session.engine.conversation.turns[-1] if session.engine.conversation.turns else None
        row["stored_interrupted"] = record.interrupted if record is not None else None
        del session, turn, record
        await quiet_tasks(out["before"]["tasks"])
        row["freed_s"] = await freed(refs)
        row["still_referenced"] = [name for name, ref in refs.items() if ref() is not None]
        row["after"] = census(server)
        row["tasks_left"] = sorted(_task_name(t) for t in asyncio.all_tasks())
        row["alive"] = alive_objects()
        out["rounds"].append(row)
        log("close-tab", json.dumps(row))


# ---- 4 pages talking at once ---------------------------------------------------------

# Each page's microphone, as the page's getUserMedia returns it, is a WebAudio track
# (a MediaStreamAudioDestinationNode) that is silent until the driver plays the page's
# question into it (``__fakeMic.play()``), right after pressing Space. The audio goes
# through the browser's own WebRTC stack (Opus, RTP) as a microphone's would; the camera
# is still Chromium's fake device. Unlike a fake-device file, which starts at a fixed
# time after the page opens, the question starts when the driver presses, so four pages
# on a loaded 2-core machine still talk at the same time.
FAKE_MIC_JS = """
(() => {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia || window.__fakeMic) return;
  const original = md.getUserMedia.bind(md);
  let ctx = null, bus = null, buffer = null, ended = null;
  const audio = () => {
    if (!ctx) { ctx = new AudioContext({ sampleRate: 48000 }); bus = ctx.createGain(); }
    return ctx;
  };
  const mic = { tracks: 0, plays: [] };
  mic.load = (b64) => {  // the question: 16-bit mono PCM at 48 kHz, base64
    audio();
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const pcm = new Int16Array(bytes.buffer);
    buffer = ctx.createBuffer(1, pcm.length, 48000);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    return buffer.duration * 1000;
  };
  mic.play = async () => {  // starts the question; returns at once
    if (ctx.state !== "running") await ctx.resume();
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(bus);
    ended = new Promise((resolve) => (source.onended = () => resolve(performance.now())));
    const at = performance.now();
    source.start();
    mic.plays.push(at);
    return { at, ms: buffer.duration * 1000, state: ctx.state, tracks: mic.tracks };
  };
  mic.ended = () => ended;
  md.getUserMedia = async (constraints) => {
    const stream = constraints && constraints.video ? await original({ video: constraints.video }) : new MediaStream();
    if (constraints && constraints.audio) {
      audio();
      const dest = ctx.createMediaStreamDestination();
      dest.channelCount = 1;
      bus.connect(dest);
      stream.addTrack(dest.stream.getAudioTracks()[0]);
      mic.tracks += 1;
    }
    return stream;
  };
  window.__fakeMic = mic;
  // what the connection did, for a turn that did not finish: peer states, WebSocket closes
  const conn = [];
  window.__conn = conn;
  const stamp = (...what) => conn.push([Math.round(performance.now()), ...what]);
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...args) {
      super(...args);
      this.addEventListener("connectionstatechange", () => stamp("pc", this.connectionState));
    }
  };
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...args) {
      super(...args);
      stamp("ws", "new");
      this.addEventListener("close", (event) => stamp("ws-close", event.code));
    }
  };
})();
"""


# Less work for the one Chromium that runs the four pages next to the server on 2 cores: the
# fake camera makes 5 frames a second (the page sends at most 5 to the server anyway), and
# the pages poll their WebRTC stats every 50 ms instead of 25.
LOAD_FLAGS = [flag for flag in CHROMIUM_FLAGS if flag != "--use-fake-device-for-media-stream"] + ["--use-fake-device-for-media-stream=fps=5"]
LOAD_MONITOR_JS = MONITOR_JS.replace("}, 25);", "}, 50);")
assert LOAD_MONITOR_JS != MONITOR_JS


def question_pcm_b64(text: str) -> tuple[str, float]:
    """Piper saying ``text`` as 48 kHz mono 16-bit PCM, base64 (for ``__fakeMic.load``); speech ms."""
    import base64

    import numpy as np

    from desktop_app.media.audio_file import load_audio
    from tests.speech import piper_wav

    speech = load_audio(piper_wav(text, lead_silence_s=0.0, tail_silence_s=0.0), sample_rate=48000)
    pcm = np.concatenate([np.zeros(4800, np.float32), speech])  # 100 ms, then the words
    return base64.b64encode((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes()).decode(), speech.size / 48.0


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (k - low))


# In-page questions on the page's sample log (e2e_driver.MONITOR_JS): one number back, not
# the whole log (which grows by 40 samples a second; fetching it every 100 ms from four
# pages slowed the driver, which shares its event loop with the server, by tens of seconds).
PAGE_HELPERS_JS = """
() => {
  if (window.__probe) return;
  const all = () => (window.__mon ? window.__mon.samples : []);
  window.__probe = {
    firstAbove: (since, level) => {
      for (const s of all()) if (s.t >= since && s.rms > level) return s.t;
      return null;
    },
    toasts: [],
    lastBytes: () => { const s = all(); return s.length ? s[s.length - 1].bytes : 0; },
    since: (since) => {
      const got = all().filter((s) => s.t >= since);
      return { n: got.length, bytes: got.length ? got[got.length - 1].bytes : 0, maxRms: Math.max(0, ...got.map((s) => s.rms)) };
    },
  };
  const toast = document.getElementById("toast");
  if (toast) new MutationObserver(() => { if (toast.textContent) window.__probe.toasts.push([Math.round(performance.now()), toast.textContent]); })
    .observe(toast, { childList: true, characterData: true, subtree: true });
}
"""


async def page_view(page) -> dict:
    """What the page shows now (for a turn that did not finish): state, notices, last lines."""
    return await page.evaluate(
        """() => ({
          state: document.body.dataset.state,
          notices: [...document.querySelectorAll('.notice')].map((e) => e.textContent).slice(-3),
          users: [...document.querySelectorAll('.msg.user')].map((e) => e.className + ': ' + e.textContent).slice(-2),
          replies: [...document.querySelectorAll('.msg.assistant')].map((e) => e.className + ': ' + e.textContent).slice(-2),
          busy: window.aiwebcam.state.busyTurn, speaking: window.aiwebcam.state.speaking,
          toasts: window.__probe.toasts.slice(-4),
          connection: (window.__conn || []).slice(-8),
        })"""
    )


async def spoken_turn_now(page, press: asyncio.Event, out: dict, start: dict) -> None:
    """Space held over the page's question, played into its microphone when pressed; then
    the transcript, the first reply audio the page plays, the reply, until quiet."""
    users_before = len(await user_texts(page))
    await press.wait()
    t0 = start["t0"]  # the moment the driver let every page press
    step = "press"
    try:
        out["pressed_s"] = round(time.monotonic() - t0, 3)
        await page.keyboard.down("Space")
        await page.wait_for_selector(".talk.recording", timeout=60000)
        out["recording_shown_s"] = round(time.monotonic() - t0, 3)
        step = "question"
        played = await page.evaluate("window.__fakeMic.play()")
        out["audio_context"] = played["state"]
        out["mic_tracks"] = played["tracks"]
        out["question_started_s"] = round(time.monotonic() - t0, 3)
        ended = await page.evaluate("window.__fakeMic.ended()")
        out["question_ms"] = round(ended - played["at"])
        await asyncio.sleep(0.3)
        bytes_before = await page.evaluate("window.__probe.lastBytes()")
        await page.keyboard.up("Space")
        out["released_s"] = round(time.monotonic() - t0, 3)
        released = await page.evaluate("window.aiwebcam.releasedAt")
        step = "transcript"
        await page.wait_for_function(
            f"() => document.querySelectorAll('.msg.user:not(.pending)').length > {users_before}", timeout=300000, polling=100
        )
        out["transcript"] = (await user_texts(page))[-1]
        step = "first audio"
        handle = await page.wait_for_function(
            "([since, level]) => window.__probe.firstAbove(since, level)", arg=[released, LEVEL], timeout=300000, polling=100
        )
        out["release_to_first_audio_ms"] = round(await handle.json_value() - released)
        step = "reply"
        await page.wait_for_function(
            "() => document.querySelector('.msg.assistant:last-child .text')?.textContent.trim().length > 0", timeout=300000, polling=100
        )
        await wait_quiet(page)
        got = await page.evaluate("(since) => window.__probe.since(since)", released)
        out["reply"] = (await reply_texts(page))[-1]
        out["bytes_received_growth"] = got["bytes"] - bytes_before
        out["max_rms_during_reply"] = got["maxRms"]
        out["done_s"] = round(time.monotonic() - t0, 3)
    except (Exception, asyncio.CancelledError):  # cancelled: a page lost its session
        out["stuck_at"] = step
        try:
            out["page_then"] = await page_view(page)
        except Exception as exc:  # noqa: BLE001 (the page itself is gone)
            out["page_then"] = repr(exc)
        raise


async def scenario_load(pw, url: str, server, work: Path, out: dict, count: int, rounds: int) -> None:
    import aiohttp

    places = PLACES[:count]
    questions = [question_pcm_b64(f"What is the capital of {place}?") for place in places]
    # one Chromium, one browser context (a separate profile: cookies, storage, media) per page
    browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=LOAD_FLAGS)
    contexts = []
    try:
        for _ in places:
            ctx = await browser.new_context(ignore_https_errors=True, viewport={"width": 900, "height": 700})
            await ctx.add_init_script(FAKE_MIC_JS)
            contexts.append(ctx)

        async def open_one(ctx):
            page = await ctx.new_page()
            page.on("console", lambda m: log("console:", m.text) if m.type in ("error", "warning") else None)
            response = await page.goto(url)
            assert response is not None and response.status == 200, f"page status {response and response.status}"
            await page.evaluate(LOAD_MONITOR_JS)
            await page.evaluate(PAGE_HELPERS_JS)
            await page.wait_for_selector("body[data-state=connected]", timeout=120000)
            return page

        pages = list(await asyncio.gather(*(open_one(ctx) for ctx in contexts)))
        out["connected"] = len(server.sessions)
        for page, (b64, _) in zip(pages, questions):
            await page.evaluate("(b64) => window.__fakeMic.load(b64)", b64)
        out["question_speech_ms"] = [round(ms) for _, ms in questions]
        ids = [await p.evaluate("window.aiwebcam.state.sessionId") for p in pages]
        sessions = [session_of(server, i) for i in ids]
        t_ref = time.monotonic()  # the events' at_s count from here
        capture_events: list[list] = [[] for _ in sessions]
        for i, session in enumerate(sessions):  # what each session's push-to-talk capture did

            def on_capture(event, i=i, capture=session.capture) -> None:
                detail = {"event": type(event).__name__, "at_s": round(time.monotonic() - t_ref, 3)}
                if hasattr(event, "reason"):
                    detail["reason"] = event.reason
                detail["held_audio_ms"] = round(capture._held_samples / 16)  # a count, for the report
                capture_events[i].append(detail)

            session.capture.subscribe(on_capture)
        server_events: list = []
        server.subscribe(
            lambda e: server_events.append([round(time.monotonic() - t_ref, 3), type(e).__name__, getattr(getattr(e, "session", None), "id", None)])
            if type(e).__name__ in ("SessionAdded", "SessionRemoved") else None
        )

        base = url.split("/?")[0]
        token = url.split("token=")[1]
        out["loadavg_before"] = os.getloadavg()
        cpu0, wall0, browser_cpu0 = os.times(), time.monotonic(), children_cpu_s()
        rss_peak = census(server)["rss_mb"]
        overlap = {"max_holding": 0, "max_turns_running": 0, "max_loop_lag_ms": 0.0}

        async def garbage(result: dict) -> None:
            """Another client meanwhile: raw bytes on the port, a WebSocket without a token,
            one with the token (the host is full: refused) that sends junk anyway."""
            host, port = base.split("://")[1].split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(os.urandom(4096) + b"\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            await writer.drain()
            result["raw_reply"] = (await asyncio.wait_for(reader.read(200), 10)).decode(errors="replace")[:60]
            writer.close()
            async with aiohttp.ClientSession() as http:
                async with http.get(base + "/ws", ssl=False) as response:
                    result["ws_without_token"] = response.status
                async with http.ws_connect(base.replace("https", "wss") + f"/ws?token={token}", ssl=False, headers={"Origin": base}) as ws:
                    for junk in ("not json", "[1,2]", '{"type": "offer", "sdp": 42}', "x" * 70000):
                        try:
                            await ws.send_str(junk)
                        except ConnectionError:
                            break
                    replies = []
                    while True:
                        msg = await ws.receive(timeout=30)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        replies.append(json.loads(msg.data))
                    result["ws_with_token"] = [m.get("code") or m.get("type") for m in replies]
                    result["ws_close_code"] = ws.close_code

        async def fifth(result: dict) -> None:
            """The fifth page: refused with a line the user can read."""
            ctx5 = await browser.new_context(ignore_https_errors=True)
            page5 = await ctx5.new_page()
            await page5.goto(url)
            await page5.wait_for_selector("body[data-state=full]", timeout=60000)
            result["fifth_state"] = await page5.evaluate("document.body.dataset.state")
            result["fifth_text"] = (await page5.inner_text("body"))[:2000]
            await ctx5.close()

        async def sample_server() -> None:
            """RSS peak; and how many pages held Space, and how many turns ran, at the same time."""
            nonlocal rss_peak
            while True:
                rss_peak = max(rss_peak, census(server)["rss_mb"])
                holding = sum(1 for s in sessions if s.capture.holding)
                running = sum(1 for s in sessions if s.engine.current is not None and not s.engine.current.done)
                overlap["max_holding"] = max(overlap["max_holding"], holding)
                overlap["max_turns_running"] = max(overlap["max_turns_running"], running)
                asleep = time.monotonic()
                await asyncio.sleep(0.05)
                lag_ms = (time.monotonic() - asleep - 0.05) * 1000  # how late the server's event loop woke us
                overlap["max_loop_lag_ms"] = max(overlap["max_loop_lag_ms"], lag_ms)

        sampler = asyncio.ensure_future(sample_server())
        out["rounds"] = []
        errors: list[str] = []
        garbage_out: dict = {}
        try:
            for r in range(rounds):
                overlap.update(max_holding=0, max_turns_running=0, max_loop_lag_ms=0.0)
                press = asyncio.Event()
                turns = [{} for _ in pages]
                start = {}
                jobs = [spoken_turn_now(p, press, turns[i], start) for i, p in enumerate(pages)]
                if r == 0:  # while the four talk: the fifth page and the garbage
                    jobs += [garbage(garbage_out), fifth(out)]
                tasks = [asyncio.ensure_future(j) for j in jobs]
                lost: list[str] = []
                turn_tasks = tasks[: len(pages)]

                async def watch_sessions(turn_tasks=turn_tasks, lost=lost) -> None:
                    """A page whose session ended will not get its reply: stop waiting (after
                    a few seconds, for the other pages' diagnostics)."""
                    while not any(session.closed for session in sessions):
                        await asyncio.sleep(0.2)
                    await asyncio.sleep(5.0)
                    lost += [places[i] for i, session in enumerate(sessions) if session.closed]
                    for task in turn_tasks:
                        task.cancel()

                watcher = asyncio.ensure_future(watch_sessions())
                await asyncio.sleep(0.2)  # every page waits on the same press
                start["t0"] = time.monotonic()
                press.set()
                done = await asyncio.gather(*tasks, return_exceptions=True)
                watcher.cancel()
                if lost:
                    errors.append(f"round {r + 1}: sessions lost in the middle of the turns: {lost}")
                errors += [f"round {r + 1}: {d!r}" for d in done if isinstance(d, BaseException) and not isinstance(d, asyncio.CancelledError)]
                presses = [t.get("pressed_s") for t in turns if t.get("pressed_s") is not None]
                releases = [t.get("released_s") for t in turns if t.get("released_s") is not None]
                row = {
                    "round": r + 1,
                    "t0_s": round(start["t0"] - t_ref, 3),  # on the events' clock
                    "max_holding_at_once": overlap["max_holding"],
                    "max_turns_running_at_once": overlap["max_turns_running"],
                    "max_event_loop_lag_ms": round(overlap["max_loop_lag_ms"]),
                    "all_held_together": len(releases) == len(pages) and max(presses) < min(releases),
                    "press_spread_ms": round((max(presses) - min(presses)) * 1000) if presses else None,
                    "turns": turns,
                    "capture_events": [events[:] for events in capture_events],
                }
                for events in capture_events:
                    events.clear()
                out["rounds"].append(row)
                log("load round", json.dumps({k: v for k, v in row.items() if k != "turns"}),
                    json.dumps([{k: t.get(k) for k in ("transcript", "release_to_first_audio_ms", "question_ms")} for t in turns]))
                if errors:
                    break
        finally:
            sampler.cancel()
        cpu1, wall1, browser_cpu1 = os.times(), time.monotonic(), children_cpu_s()
        out["errors"] = errors
        out["server_session_events"] = server_events
        out["sessions_lost"] = [places[i] for i, session in enumerate(sessions) if session.closed]
        out["garbage"] = garbage_out
        out["server_cpu_percent"] = round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / (wall1 - wall0) * 100, 1)
        out["browser_cpu_percent"] = round((browser_cpu1 - browser_cpu0) / (wall1 - wall0) * 100, 1)
        out["wall_s"] = round(wall1 - wall0, 1)
        out["rss_peak_mb"] = rss_peak
        out["loadavg"] = os.getloadavg()
        out["pages"] = []
        for i, (page, session) in enumerate(zip(pages, sessions)):
            records = session.engine.conversation.turns
            mine = [row["turns"][i] for row in out["rounds"]]
            latencies = [t["release_to_first_audio_ms"] for t in mine if t.get("release_to_first_audio_ms") is not None]
            out["pages"].append({
                "place": places[i],
                "turns": [
                    {
                        "transcript": t.get("transcript"),
                        "reply_in_page": t.get("reply"),
                        "stored_user": records[k].user_text if k < len(records) else None,
                        "stored_reply": records[k].reply_text if k < len(records) else None,
                        "stored_metrics": records[k].metrics if k < len(records) else None,
                        "release_to_first_audio_ms": t.get("release_to_first_audio_ms"),
                        "max_rms_during_reply": t.get("max_rms_during_reply"),
                    }
                    for k, t in enumerate(mine)
                ],
                "stored_users": [rec.user_text for rec in records],
                "page_users": await user_texts(page),
                "page_replies": await reply_texts(page),
                "release_to_first_audio_p50_ms": _percentile(latencies, 0.5),
                "release_to_first_audio_p90_ms": _percentile(latencies, 0.9),
            })
        every = [t["release_to_first_audio_ms"] for row in out["rounds"] for t in row["turns"] if t.get("release_to_first_audio_ms") is not None]
        out["release_to_first_audio_all_ms"] = {"n": len(every), "p50": _percentile(every, 0.5), "p90": _percentile(every, 0.9), "max": max(every, default=None)}
        out["after_turns"] = census(server)
    finally:
        await browser.close()
    out["released_s"] = await settle(server, 0)
    out["after"] = census(server)


# ---- joining and leaving -------------------------------------------------------------


async def scenario_joins(browser, url: str, server, out: dict, joins: int) -> None:
    await asyncio.sleep(1.0)
    out["before"] = census(server)
    out["series"] = []
    for i in range(joins):
        ctx, page, _ = await open_page(browser, url, viewport={"width": 900, "height": 700})
        before = len(await reply_texts(page))
        await type_message(page, f"Say hello to visitor number {i + 1}.")
        await page.wait_for_function(
            f"() => document.querySelectorAll('.msg.assistant .text').length > {before} && "
            f"document.querySelectorAll('.msg.assistant .text')[{before}].textContent.trim().length > 0",
            timeout=300000,
        )
        await wait_quiet(page)
        await ctx.close()
        if await settle(server, 0) is None:
            out.setdefault("not_released", []).append(i + 1)
        await quiet_tasks(out["before"]["tasks"], timeout_s=5)
        row = {"join": i + 1, **census(server)}
        if (i + 1) % 5 == 0 or i + 1 == joins:
            row["alive"] = alive_objects()
        out["series"].append(row)
        log("join", json.dumps(row))
    gc.collect()
    await asyncio.sleep(2.0)
    out["after"] = census(server)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=("close-tab", "load", "joins"))
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="close-tab: tabs closed mid-turn; load: rounds of overlapping turns")
    parser.add_argument("--joins", type=int, default=10)
    parser.add_argument("--pages", type=int, default=4, help="load: pages talking at once (at most 4)")
    parser.add_argument("--llm-model", default="smollm2-135m")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("desktop_app.core.capture").setLevel(logging.INFO)  # a dropped press, and why
    work = driver_work_dir("aiwebcam-load-")

    from playwright.async_api import async_playwright

    from desktop_app.backends.factory import make_backends
    from desktop_app.config import AppPaths, Settings
    from desktop_app.server.app import ServerConfig, WebcamServer

    # joins: what a session leaves behind, without the text reader, whose onnxruntime
    # arena grew RSS by ~24 % over 8 joins on its own (a finding of its own, in the report)
    settings = Settings(llm_provider="embedded", llm_model=args.llm_model, llm_max_tokens=60, read_text_in_view=args.scenario != "joins")
    paths = AppPaths.from_env()
    backends = make_backends(settings, paths)
    await asyncio.gather(backends.asr.load(), backends.llm.load(), backends.tts.load())
    server = WebcamServer(backends, settings, paths, ServerConfig(host="127.0.0.1", port=0, tls=True, ice_hosts=["127.0.0.1"], max_sessions=args.pages if args.scenario == "load" else 4))
    url = await server.start()
    results: dict = {"scenario": args.scenario}
    try:
        async with async_playwright() as pw:
            if args.scenario == "load":
                await scenario_load(pw, url, server, work, results, args.pages, args.rounds)
            else:
                wav, _ = make_question_wav(work)
                browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"])
                try:
                    if args.scenario == "close-tab":
                        await scenario_close_tab(browser, url, server, results, args.rounds)
                    else:
                        await scenario_joins(browser, url, server, results, args.joins)
                finally:
                    await browser.close()
    finally:
        await server.stop()
        await backends.aclose()
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
