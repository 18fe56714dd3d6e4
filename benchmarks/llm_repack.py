"""What llama.cpp's repacked weights (its CPU extra buffer type) change for the embedded model.

    .venv/bin/python benchmarks/llm_repack.py                       # the default model
    .venv/bin/python benchmarks/llm_repack.py --rounds 9

Two instances of the model in one process, both with flash attention as in the app, one
with llama.cpp's extra buffer types on (Q4_K weights repacked into 8x8 blocks at load) and
one with them off, used in turn (interleaved, so a change in the machine's load hits both
alike). The rounds are those of ``llm_flash_attention.py``: 10 tokens left at the release
after a cached conversation, a 30-token question, 32 tokens decoded, a 2000-token history.
Prints p50s and ratios, each instance's load time, and the process's anonymous memory
after each load. The app turns repacking on unless the CPU has AMX (see
``desktop_app/backends/llm/llama_local.py``); on such a CPU this benchmark crashes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.llm_flash_attention import cpu_model, load, one_round  # noqa: E402


def anon_mb() -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}; model {args.model}; {args.rounds} rounds, interleaved")
    models = {}
    for repack in (False, True):
        before, started = anon_mb(), time.perf_counter()
        models[repack] = load(args.model, flash=True, repack=repack)
        print(f"repack {'on ' if repack else 'off'}: loaded in {time.perf_counter() - started:.2f} s, anonymous memory +{anon_mb() - before:.0f} MB")
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for r in range(args.rounds):
        for repack in ((False, True) if r % 2 == 0 else (True, False)):
            results[repack].append(one_round(models[repack], r))
    print(f"{'figure':<18}{'off p50':>10}{'on p50':>10}{'on/off':>9}")
    for key in ("tail_10_ms", "turn_30_ms", "decode_tps", "history_2000_ms"):
        off = statistics.median(x[key] for x in results[False])
        on = statistics.median(x[key] for x in results[True])
        print(f"{key:<18}{off:>10.1f}{on:>10.1f}{on / off:>9.2f}")


if __name__ == "__main__":
    main()
