"""What llama.cpp's repacked weights (its CPU extra buffer type) change for the embedded model.

    .venv/bin/python benchmarks/llm_repack.py                       # the default model
    .venv/bin/python benchmarks/llm_repack.py --rounds 9

Two instances of the model in one process, both with flash attention as in the app, one
with llama.cpp's extra buffer types on (Q4_K weights repacked into 8x8 blocks at load) and
one with them off, used in turn (interleaved, so a change in the machine's load hits both
alike). The rounds are those of ``llm_flash_attention.py``: 10 tokens left at the release
after a cached conversation, a 30-token question, 32 tokens decoded, a 2000-token history.
Prints p50s and ratios, each instance's load time (the file is read once first, so both
find it in the page cache), and the process's anonymous memory after each load. The app
turns repacking on unless AMX kernels meet an AMX CPU (``repack_is_safe`` in
``desktop_app/backends/llm/llama_local.py``); there this benchmark crashes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.llm_flash_attention import arguments, compare, load  # noqa: E402
from desktop_app.backends.llm.llama_local import gguf_path  # noqa: E402
from desktop_app.config import AppPaths  # noqa: E402


def anon_mb() -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("RssAnon:"))
    return int(line.split()[1]) / 1024


def main() -> None:
    args = arguments(__doc__)
    path = gguf_path(args.model, AppPaths.from_env().models_dir, None)
    with open(path, "rb") as weights:  # the page cache warm for both loads alike
        while weights.read(1 << 24):
            pass
    models = {}
    for repack in (False, True):
        before, started = anon_mb(), time.perf_counter()
        models[repack] = load(args.model, flash=True, repack=repack)
        print(f"repack {'on ' if repack else 'off'}: loaded in {time.perf_counter() - started:.2f} s, anonymous memory +{anon_mb() - before:.0f} MB")
    compare(models, args.rounds)


if __name__ == "__main__":
    main()
