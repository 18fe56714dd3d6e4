"""A long session in one process: N turns through the engine's one capture path.

    .venv/bin/python benchmarks/long_session.py --turns 200 --json long.json
    .venv/bin/python benchmarks/long_session.py --turns 40           # what the test runs

The real engine (Whisper tiny.en, SmolLM2 by default, Piper), fed by
``core.capture.SpeechCapture`` exactly as the window feeds it: 20 ms blocks of real
speech (Piper, ``tests/speech.py``) at real-time pace. The turns cycle through spoken
push-to-talk, hands-free (the capture decides when the question ended), typed, a spoken
turn cancelled as its reply starts, and a typed one cancelled likewise.

After every turn: RSS, threads and open file descriptors of this process. At the end:
the conversation file is loaded back (every turn in it, in order), and the window
(offscreen, in a fresh process) opens it: load + render, timed. Prints a table; ``--json``
writes every figure. For ``serve`` with browsers joining and leaving, see
``tests/server/load_driver.py joins --joins 50``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = ("push-to-talk", "hands-free", "typed", "push-to-talk+cancel", "typed+cancel")
QUESTIONS = (
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "How many legs does a spider have?",
    "What do bees make?",
    "Tell me a long story about a lighthouse keeper.",
)
BLOCK = 320  # 20 ms at 16 kHz


def process_figures() -> dict:
    status = Path("/proc/self/status").read_text()
    rss_kb = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return {"rss_mb": round(rss_kb / 1024, 1), "threads": threading.active_count(), "fds": len(os.listdir("/proc/self/fd"))}


async def feed(capture, pcm, pace: bool = True) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i, offset in enumerate(range(0, pcm.size, BLOCK)):
        capture.feed(pcm[offset : offset + BLOCK])
        if pace:
            await asyncio.sleep(max(0.0, start + (i + 1) * BLOCK / 16000 - loop.time()))


async def one_turn(engine, capture, kind: str, question: str, pcm, silence) -> dict:
    """One turn of ``kind``; returns what happened to it."""
    from desktop_app.core.events import AudioPacket, TurnFinished
    from desktop_app.core.hands_free import HandsFreeOptions

    finished: asyncio.Future = asyncio.get_running_loop().create_future()
    cancel = kind.endswith("+cancel")

    def on_event(event) -> None:
        if cancel and isinstance(event, AudioPacket) and not finished.done():
            engine.cancel()  # as the reply starts: the user pressed Stop
        if isinstance(event, TurnFinished) and not finished.done():
            finished.set_result(event)

    unsubscribe = engine.subscribe(on_event)
    try:
        if kind.startswith("typed"):
            from desktop_app.core.turn import TurnInput

            engine.submit(TurnInput(text=question))
        elif kind == "hands-free":
            capture.set_hands_free(HandsFreeOptions())
            await feed(capture, silence)
            await feed(capture, pcm)
            for _ in range(150):  # up to 3 s of silence: the end of the turn is the capture's call
                if finished.done() or engine.current is not None and not engine.current.done:
                    break
                await feed(capture, silence[:BLOCK])
        else:
            capture.press()
            await feed(capture, pcm)
            task = capture.release()
            if task is not None:
                try:
                    await asyncio.wait_for(task, timeout=120)
                except asyncio.TimeoutError:
                    return {"kind": kind, "finished": False}
        try:
            event = await asyncio.wait_for(finished, timeout=120)
        except asyncio.TimeoutError:
            return {"kind": kind, "finished": False}
        return {"kind": kind, "finished": True, "interrupted": event.interrupted}
    finally:
        if kind == "hands-free":
            capture.set_hands_free(None)
        unsubscribe()


async def run(turns: int, llm: str) -> dict:
    from desktop_app.config import Settings
    from desktop_app.core.capture import SpeechCapture
    from tests.core.engines import warm_engine
    from tests.speech import speech_pcm

    import numpy as np

    settings = Settings(llm_provider="embedded", llm_model=llm, llm_max_tokens=60)
    clips = [speech_pcm(q) for q in QUESTIONS]
    silence = np.zeros(16000 // 2, np.float32)
    rows: list[dict] = []
    started = time.monotonic()
    async with warm_engine(settings) as engine:
        capture = SpeechCapture(engine)
        for i in range(turns):
            kind = KINDS[i % len(KINDS)]
            q = i % len(QUESTIONS)
            turn_started = time.monotonic()
            row = await one_turn(engine, capture, kind, QUESTIONS[q], clips[q], silence)
            row.update(turn=i + 1, s=round(time.monotonic() - turn_started, 1), stored=len(engine.conversation.turns), **process_figures())
            rows.append(row)
            if (i + 1) % 10 == 0:
                print(f"[{i + 1}/{turns}] {json.dumps(row)}", file=sys.stderr, flush=True)
        conversation_id = engine.conversation.id
        store_dir = engine.store.directory
        stored_turns = len(engine.conversation.turns)
        await capture.aclose()
    result = {"turns": turns, "llm": llm, "wall_s": round(time.monotonic() - started), "rows": rows,
              "stored_turns": stored_turns, "conversation_id": conversation_id}  # fmt: skip
    result.update(summarize(rows))
    result["file"] = check_file(store_dir, conversation_id, stored_turns)
    result["window"] = time_window_open(conversation_id)
    return result


def summarize(rows: list[dict]) -> dict:
    base = rows[min(19, len(rows) - 1)]  # after the first 20 turns
    last = rows[-1]
    return {
        "after_20": {k: base[k] for k in ("rss_mb", "threads", "fds")},
        "end": {k: last[k] for k in ("rss_mb", "threads", "fds")},
        "rss_growth_percent": round((last["rss_mb"] - base["rss_mb"]) / base["rss_mb"] * 100, 2),
        "threads_range_after_20": [min(r["threads"] for r in rows[19:]), max(r["threads"] for r in rows[19:])] if len(rows) > 19 else None,
        "fds_range_after_20": [min(r["fds"] for r in rows[19:]), max(r["fds"] for r in rows[19:])] if len(rows) > 19 else None,
        "unfinished": [r["turn"] for r in rows if not r["finished"]],
        "kinds": {k: sum(r["kind"] == k for r in rows) for k in KINDS},
        "interrupted": sum(bool(r.get("interrupted")) for r in rows),
    }


def check_file(store_dir: Path, conversation_id: str, stored_turns: int) -> dict:
    from desktop_app.core.conversation import ConversationStore

    started = time.perf_counter()
    conversation = ConversationStore(store_dir).load(conversation_id)
    load_ms = (time.perf_counter() - started) * 1000
    path = ConversationStore(store_dir).path_of(conversation_id)
    return {"loaded_turns": len(conversation.turns), "expected_turns": stored_turns, "load_ms": round(load_ms, 1),
            "bytes": path.stat().st_size}  # fmt: skip


WINDOW_OPEN = r"""
import sys, time, json
from PySide6.QtWidgets import QApplication
app = QApplication([])
import asyncio, qasync
asyncio.set_event_loop(qasync.QEventLoop(app))
from desktop_app.config import AppPaths, Settings
from desktop_app.core.conversation import ConversationStore
from desktop_app.gui.main_window import MainWindow
paths = AppPaths.from_env()
window = MainWindow(Settings(), paths, microphone=None, use_speaker=False, video="pattern")
window.show()
for _ in range(5):
    app.processEvents()
started = time.perf_counter()
conversation = ConversationStore(paths.data_dir / "conversations").load(sys.argv[1])
loaded = time.perf_counter()
window.show_conversation(conversation)
app.processEvents()
shown = time.perf_counter()
print(json.dumps({"load_ms": round((loaded - started) * 1000, 1), "show_ms": round((shown - loaded) * 1000, 1),
                  "open_ms": round((shown - started) * 1000, 1), "entries": len(window.transcript.entries)}))
"""


def time_window_open(conversation_id: str) -> dict:
    """The window (offscreen, a fresh process, models not loaded) opens the conversation."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", WINDOW_OPEN, conversation_id], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr[-1500:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--llm", default="smollm2-135m")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="aiwebcam-long-"))
    os.environ.setdefault("AIWEBCAM_DATA_DIR", str(work / "data"))
    os.environ.setdefault("AIWEBCAM_CONFIG_DIR", str(work / "config"))
    from benchmarks.faces import cpu_model

    result = asyncio.run(run(args.turns, args.llm))
    result.update(cpu=cpu_model(), date=time.strftime("%Y-%m-%d %H:%M"))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(f"CPU: {result['cpu']}  ({result['date']}, {args.turns} turns, LLM {args.llm}, {result['wall_s']} s)")
    print(f"kinds: {result['kinds']}; interrupted: {result['interrupted']}; unfinished: {result['unfinished']}")
    print(f"after 20 turns: {result['after_20']}; end: {result['end']}; RSS growth {result['rss_growth_percent']} %")
    print(f"threads after 20: {result['threads_range_after_20']}; fds after 20: {result['fds_range_after_20']}")
    print(f"file: {result['file']}; window: {result['window']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
