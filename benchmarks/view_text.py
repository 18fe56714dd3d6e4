"""What reading the view costs a spoken turn: voice-to-voice with and without OCR, one run.

    .venv/bin/python benchmarks/view_text.py --turns 8            # default models
    .venv/bin/python benchmarks/view_text.py --turns 8 --json out.json

Three conditions, interleaved turn by turn on one engine (the same loaded models), each
turn a built-in spoken question pressed and released through ``SpeechCapture`` at
real-time pace (as ``aiwebcam bench`` does) into a real-time paced sink:

* ``no frame``: nothing in view;
* ``screen, OCR``: a screen with an error message, a different one every turn (so it is
  read every turn, while the question is spoken); the model gets its text;
* ``screen, OCR off``: the same screen, reading off: the model is told it cannot see it.

Reports p50/p90 of release -> first audio out of the sink, the time the turn waited for
the text after its transcript, the OCR time per frame, first token, and the process RSS
with and without the text reader loaded.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.faces import cpu_model  # noqa: E402
from desktop_app.backends.factory import make_backends  # noqa: E402
from desktop_app.bench.questions import question_clips  # noqa: E402
from desktop_app.bench.run import forget_last_question, push_to_talk  # noqa: E402
from desktop_app.bench.stats import percentiles  # noqa: E402
from desktop_app.config import AppPaths, Settings  # noqa: E402
from desktop_app.core.capture import SpeechCapture  # noqa: E402
from desktop_app.core.engine import Engine, default_store  # noqa: E402
from desktop_app.core.metrics import now_ms  # noqa: E402
from desktop_app.core.sinks import PacedSink  # noqa: E402
from tests.pictures import ERROR_LINES, error_screen, jpeg  # noqa: E402

CONDITIONS = ("no frame", "screen, OCR", "screen, OCR off")


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def screen_frame(i: int) -> bytes:
    lines = [line.replace("4291", str(4000 + 37 * i)) for line in ERROR_LINES]
    return jpeg(error_screen((1600, 900), lines=lines))


async def one_turn(engine: Engine, sink: PacedSink, pcm, frame: bytes | None) -> dict:
    await forget_last_question(engine)
    sink.reset_marks()
    capture = SpeechCapture(engine, frame_source=lambda: frame)
    submitting = await push_to_talk(capture, pcm)
    released = now_ms()
    turn = await submitting
    await turn.wait()
    while sink.queued:
        await asyncio.sleep(0.05)
    m = turn.metrics
    reading = engine.last_reading
    return {
        "v2v_ms": sink.first_out_ms - released if sink.first_out_ms is not None else None,
        "view_wait_ms": m.view_wait_ms,
        "llm_ttft_ms": m.llm_ttft_ms,
        "ocr_ms": reading.read_ms if frame is not None and reading is not None else None,
        "view": turn.view.describe() if turn.view is not None else "",
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=8, help="turns per condition")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    settings = Settings(llm_max_tokens=40)
    paths = AppPaths.from_env()
    clips = question_clips(paths.cache_dir)
    backends = make_backends(settings, paths)
    await dataclasses.replace(backends, reader=None).load()
    rss_without = rss_mb()
    await backends.reader.load()
    rss_with = rss_mb()
    store = default_store(Path(paths.data_dir))
    reading = Engine(backends, store, settings.system_prompt)
    blind = Engine(dataclasses.replace(backends, reader=None), store, settings.system_prompt)
    for engine in (reading, blind):
        engine.set_view_source("screen")
    sink = PacedSink()
    sink.start()
    results: dict[str, list[dict]] = {c: [] for c in CONDITIONS}
    try:
        for engine in (reading, blind):  # first-use costs are not latency
            engine.add_sink(sink)
            await one_turn(engine, sink, clips[0][1], screen_frame(999))
        for i in range(args.turns):
            pcm = clips[i % len(clips)][1]
            for condition in CONDITIONS:
                engine = blind if condition == "screen, OCR off" else reading
                frame = None if condition == "no frame" else screen_frame(i)
                sample = await one_turn(engine, sink, pcm, frame)
                results[condition].append(sample)
                print(f"[{i + 1}/{args.turns}] {condition:16s} v2v {sample['v2v_ms']:.0f} ms, waited for text "
                      f"{sample['view_wait_ms'] or 0:.0f} ms, OCR {sample['ocr_ms'] or 0:.0f} ms ({sample['view']})", file=sys.stderr)  # fmt: skip
    finally:
        await sink.aclose()
        await backends.aclose()
    table = {
        c: {key: percentiles([s[key] for s in samples]) for key in ("v2v_ms", "view_wait_ms", "llm_ttft_ms", "ocr_ms")}
        for c, samples in results.items()
    }
    base = table["no frame"]["v2v_ms"]["p50"]
    summary = {
        "cpu": cpu_model(),
        "turns_per_condition": args.turns,
        "rss_mb_without_reader": round(rss_without),
        "rss_mb_with_reader": round(rss_with),
        "conditions": table,
        "v2v_p50_ratio_ocr_vs_no_frame": round(table["screen, OCR"]["v2v_ms"]["p50"] / base, 2) if base else None,
    }
    print(f"\nCPU: {summary['cpu']}; RSS {summary['rss_mb_without_reader']} MB -> {summary['rss_mb_with_reader']} MB with the text reader")
    print(f"{'condition':18s} {'v2v p50':>8s} {'p90':>6s} {'wait p50':>9s} {'OCR p50':>8s} {'ttft p50':>9s}")
    for c, row in table.items():
        print(f"{c:18s} {row['v2v_ms']['p50'] or 0:8.0f} {row['v2v_ms']['p90'] or 0:6.0f} {row['view_wait_ms']['p50'] or 0:9.0f} "
              f"{row['ocr_ms']['p50'] or 0:8.0f} {row['llm_ttft_ms']['p50'] or 0:9.0f}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "turns": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
