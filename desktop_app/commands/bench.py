"""``aiwebcam bench``: voice-to-voice latency percentiles on the configured models."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from desktop_app.backends.factory import make_engine
from desktop_app.bench.idle import peak_rss_mb
from desktop_app.bench.questions import question_clips
from desktop_app.bench.run import TurnSample, run_bench
from desktop_app.bench.stats import percentiles
from desktop_app.config import AppPaths, Settings
from desktop_app.progress import StderrProgress

STAGES = ("v2v_ms", "overhead_ms", "asr_ms", "llm_ttft_ms", "first_chunk_ms", "tts_first_audio_ms", "interrupt_ms")


def bench_settings(settings: Settings, llm: str | None) -> Settings:
    # Short answers keep the sequential baseline honest; streaming does not depend on it.
    settings = replace(settings, llm_max_tokens=min(settings.llm_max_tokens, 96))
    if not llm:
        return settings
    if llm == "openai":
        return replace(settings, llm_provider="openai")
    return replace(settings, llm_provider="embedded", llm_model=llm)


async def run_bench_command(args: argparse.Namespace, settings: Settings, paths: AppPaths) -> int:
    settings = bench_settings(settings, args.llm)
    clips = question_clips(paths.cache_dir, args.wav, release_after_s=args.release_after)
    with tempfile.TemporaryDirectory(prefix="aiwebcam-bench-") as data_dir:
        # Benchmark turns are not the user's conversations.
        bench_paths = AppPaths(paths.config_dir, Path(data_dir), paths.cache_dir)
        engine = make_engine(settings, bench_paths, StderrProgress())
        try:
            await engine.warm_up()
            say = (lambda *a: None) if args.json else _print_turn
            result = await run_bench(engine, clips, args.turns, say)
        finally:
            await engine.aclose()

    idle = None
    if not args.no_idle:
        from desktop_app.bench.app_idle import measure_app_idle

        idle = measure_app_idle(seconds=args.idle_seconds)
    report = {name: percentiles([getattr(t, name) for t in result.turns]) for name in STAGES}
    report["baseline_v2v_ms"] = percentiles(result.baseline_v2v_ms)
    report["reply_begun_at_pause"] = sum(t.reply_prepared_ms is not None for t in result.turns)
    report["idle_cpu_percent"] = round(idle.cpu_percent, 2) if idle else None
    report["peak_rss_mb"] = round(max(peak_rss_mb(os.getpid()), idle.peak_rss_mb if idle else 0.0), 1)
    if args.json:
        print(json.dumps(report))
    else:
        _print_table(report, settings, len(result.turns))
    return 0


def _print_turn(i: int, total: int, sample: TurnSample, baseline_ms: float) -> None:
    v2v = f"{sample.v2v_ms:.0f}" if sample.v2v_ms is not None else "-"
    print(f"[{i}/{total}] v2v {v2v} ms (baseline {baseline_ms:.0f} ms)  {sample.transcript!r}", file=sys.stderr)


def _print_table(report: dict, settings: Settings, turns: int) -> None:
    print(f"{turns} turns, LLM {settings.resolved_llm_model()}, ASR {settings.asr_model}, TTS {settings.tts_provider}")
    print(f"{'metric':<22}{'p50':>10}{'p90':>10}")
    for name in (*STAGES, "baseline_v2v_ms"):
        p = report[name]
        fmt = lambda v: "-" if v is None else f"{v:.0f}"
        print(f"{name:<22}{fmt(p['p50']):>10}{fmt(p['p90']):>10}")
    idle = report["idle_cpu_percent"]
    print(f"{'idle_cpu_percent':<22}{'-' if idle is None else f'{idle:.2f}':>10}")
    print(f"{'peak_rss_mb':<22}{report['peak_rss_mb']:>10.0f}")
    print(f"reply begun at the user's pause and used: {report['reply_begun_at_pause']} of {turns} turns")
