"""What llama.cpp's flash attention changes for the embedded model: speed and memory.

    .venv/bin/python benchmarks/llm_flash_attention.py                       # the default model
    .venv/bin/python benchmarks/llm_flash_attention.py --model smollm2-135m --rounds 5

Two instances of the model in one process, one with ``flash_attn`` and one without, used
in turn (interleaved, so a change in the machine's load hits both alike). Each round, on
each: after a cached 600-token conversation, 10 tokens evaluated (what is left at the
release when the words were primed while the user spoke), then 30 more (a typed
question, not primed): the figures a user waits for before the first word; a 2000-token history evaluated from scratch (a context cut), and
32 tokens decoded. Prints p50s, the ratios, and RSS after the long evaluation in fresh
processes (the compute buffer's pages are mapped in as a batch first needs them).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.backends.llm.llama_local import extra_buffer_types, gguf_path  # noqa: E402
from desktop_app.config import AppPaths  # noqa: E402


def cpu_model() -> str:
    out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name")), "?")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def load(model: str, flash: bool, repack: bool = False):
    """The model as the app makes it, with llama.cpp's extra buffer types (repacked
    weights) off, as the flash-attention figures were measured, unless ``repack``."""
    from llama_cpp import Llama

    path = gguf_path(model, AppPaths.from_env().models_dir, None)
    with extra_buffer_types(repack):
        return Llama(model_path=str(path), n_ctx=4096, n_threads=2, n_threads_batch=2, n_batch=512, flash_attn=flash, verbose=False)


def words(llama, n: int, seed: int) -> list[int]:
    vocab = "the a river mountain question answer light keeper sea story city capital small large".split()
    text = " ".join(vocab[(i * 7 + seed) % len(vocab)] for i in range(n * 2))
    return llama.tokenize(text.encode())[:n]


def one_round(llama, seed: int) -> dict[str, float]:
    history, turn = words(llama, 600, seed), words(llama, 40, seed + 1)
    llama.reset()
    llama.eval(history)  # the cached conversation
    started = time.perf_counter()
    llama.eval(turn[:10])  # what is left at the release when the words were primed
    tail_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    llama.eval(turn[10:])  # a typed question, not primed
    turn_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    for _ in range(32):
        token = llama.sample(temp=0.0)
        llama.eval([token])
    decode = 32 / (time.perf_counter() - started)
    long = words(llama, 2000, seed + 2)
    llama.reset()
    started = time.perf_counter()
    llama.eval(long)
    long_ms = (time.perf_counter() - started) * 1000
    return {"tail_10_ms": tail_ms, "turn_30_ms": turn_ms, "decode_tps": decode, "history_2000_ms": long_ms}


def memory(model: str, flash: bool) -> float:
    """RSS growth after evaluating 3800 tokens, in a fresh process."""
    code = (
        "import sys; sys.path.insert(0, %r)\n"
        "from benchmarks.llm_flash_attention import load, words, rss_mb\n"
        "llama = load(%r, %r); base = rss_mb(); llama.eval(words(llama, 3800, 0)); print(rss_mb() - base)\n"
    ) % (str(ROOT), model, flash)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}; model {args.model}; {args.rounds} rounds, interleaved")
    return args


def compare(models: dict, rounds: int) -> None:
    """Rounds on the two instances (keys False and True) in turn; print p50s and ratios."""
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    for r in range(rounds):
        for key in ((False, True) if r % 2 == 0 else (True, False)):
            results[key].append(one_round(models[key], r))
    print(f"{'figure':<18}{'off p50':>10}{'on p50':>10}{'on/off':>9}")
    for key in ("tail_10_ms", "turn_30_ms", "decode_tps", "history_2000_ms"):
        off = statistics.median(x[key] for x in results[False])
        on = statistics.median(x[key] for x in results[True])
        print(f"{key:<18}{off:>10.1f}{on:>10.1f}{on / off:>9.2f}")


def main() -> None:
    args = arguments(__doc__)
    models = {flash: load(args.model, flash) for flash in (False, True)}
    compare(models, args.rounds)
    del models
    print(f"RSS growth after 3800 tokens: off +{memory(args.model, False):.0f} MB, on +{memory(args.model, True):.0f} MB")


if __name__ == "__main__":
    main()
