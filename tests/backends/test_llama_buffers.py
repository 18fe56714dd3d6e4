"""llama.cpp's repacked weights: on where they are safe, off where AMX would crash.

The default model is loaded by the app's own backend in a child process, with
llama.cpp's log on (it writes from C to the process's stderr), and must then answer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desktop_app.backends.llm.llama_local import cpu_has_amx

CHILD = """
import asyncio
from desktop_app.backends.llm.llama_local import LlamaChatModel
from desktop_app.config import AppPaths

async def main():
    model = LlamaChatModel("qwen2.5-coder-1.5b", AppPaths.from_env().models_dir, max_tokens=6, temperature=0.0)
    reply = "".join([d async for d in model.stream([{"role": "user", "content": "Say hello."}])])
    print("REPLY:" + reply.replace("\\n", " "), flush=True)

asyncio.run(main())
"""


def _kernel_lists_amx() -> bool:
    return any(" amx" in line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))


def test_the_default_model_uses_repacked_weights_unless_the_cpu_has_amx():
    child = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**os.environ, "AIWEBCAM_LLAMA_VERBOSE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    reply = next(line[6:] for line in child.stdout.splitlines() if line.startswith("REPLY:"))
    assert reply.strip()  # it decodes with whichever buffers it got
    repacked = "CPU_REPACK model buffer size" in child.stderr
    assert cpu_has_amx() == _kernel_lists_amx()
    assert repacked == (not _kernel_lists_amx()), child.stderr[-2000:]


def test_amx_is_read_from_the_flags_line(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nmodel name\t: AMD EPYC (amx in a name is not a flag)\nflags\t\t: fpu avx2 avx512f\n")
    assert cpu_has_amx(with_amx)
    assert not cpu_has_amx(without)
