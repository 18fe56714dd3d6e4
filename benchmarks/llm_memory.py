"""How the embedded model's memory grows with the context it evaluates.

    .venv/bin/python benchmarks/llm_memory.py                      # SmolLM2, as the long session
    .venv/bin/python benchmarks/llm_memory.py --model qwen2.5-coder-1.5b

llama.cpp reserves its compute buffer at load for the worst case (a batch of ``n_ubatch``
tokens attending to the whole context), but the operating system maps its pages in only
when a batch first needs them: RSS grows with the longest context evaluated in one go
(the long session's step at its first context cut, when the trimmed history is evaluated
again in 512-token batches), up to a bound, and stays there. This prints RSS after
evaluating N tokens from scratch, for growing N, in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.backends.llm.llama_local import LlamaChatModel  # noqa: E402
from desktop_app.config import AppPaths  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--tokens", default="100,600,1500,3000,3800")
    args = parser.parse_args()
    model = LlamaChatModel(args.model, AppPaths.from_env().models_dir)
    asyncio.run(model.load())
    llama = model._llama  # noqa: SLF001 (a benchmark of the backend's own buffers)
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    loaded = rss_mb()
    print(f"CPU: {cpu}; {args.model}, context {llama.n_ctx()}: RSS {loaded:.0f} MB after loading")
    for n in (int(x) for x in args.tokens.split(",")):
        tokens = llama.tokenize((" word" * n).encode())[:n]
        llama.reset()
        started = time.perf_counter()
        llama.eval(tokens)
        print(f"  {n:5d} tokens evaluated from scratch: RSS +{rss_mb() - loaded:.0f} MB ({n / (time.perf_counter() - started):.0f} tokens/s)")


if __name__ == "__main__":
    main()
