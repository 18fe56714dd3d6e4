"""llama.cpp's repacked weights: on where they are safe, off where AMX would crash.

The default model is loaded by the app's own backend in a child process, with
llama.cpp's log on (it writes from C to the process's stderr), and must then answer.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_app.backends.llm.llama_local import cpu_has_amx

CHILD = """
import asyncio, sys
from desktop_app.backends.llm import llama_local
from desktop_app.config import AppPaths

if sys.argv[1] == "off":  # as on a CPU with AMX under a build with AMX kernels
    llama_local.repack_is_safe = lambda: False

async def main():
    model = llama_local.LlamaChatModel("qwen2.5-coder-1.5b", AppPaths.from_env().models_dir, max_tokens=6, temperature=0.0)
    reply = "".join([d async for d in model.stream([{"role": "user", "content": "Say hello."}])])
    print("REPLY:" + reply.replace("\\n", " "), flush=True)

asyncio.run(main())
"""


def _flags() -> list[str]:
    line = next((x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags")), "")
    return line.split(":", 1)[-1].split()


def _load(mode: str) -> tuple[str, bool]:
    """The reply of the default model loaded by the app ("app": its own choice; "off":
    as where repacking is unsafe), and whether llama.cpp repacked its weights."""
    child = subprocess.run(
        [sys.executable, "-c", CHILD, mode],
        env={**os.environ, "AIWEBCAM_LLAMA_VERBOSE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    reply = next(line[6:] for line in child.stdout.splitlines() if line.startswith("REPLY:"))
    return reply, "CPU_REPACK model buffer size" in child.stderr


@pytest.fixture(scope="module")
def x86_linux_with_avx2():
    # llama.cpp repacks Q4_K into 8x8 blocks on x86 with AVX2; elsewhere other rules apply
    if platform.system() != "Linux" or platform.machine() != "x86_64" or "avx2" not in _flags():
        pytest.skip("Q4_K repacking is an x86 AVX2 feature")


def test_the_default_model_is_repacked_unless_amx_kernels_meet_an_amx_cpu(x86_linux_with_avx2):
    import llama_cpp

    amx_build = b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()
    amx_cpu = any(flag.startswith("amx") for flag in _flags())
    reply, repacked = _load("app")
    assert reply.strip()  # it decodes with whichever buffers it got
    assert repacked == (not (amx_build and amx_cpu))


def test_where_repacking_is_unsafe_the_model_loads_without_it_and_answers(x86_linux_with_avx2):
    reply, repacked = _load("off")
    assert reply.strip()
    assert not repacked


def test_amx_is_read_from_the_flags_line(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f amx_bf16 amx_tile amx_int8\n")
    without = tmp_path / "plain"
    without.write_text("processor\t: 0\nmodel name\t: AMD EPYC (amx in a name is not a flag)\nflags\t\t: fpu avx2 avx512f\nvmx flags\t: amx_like\n")
    assert cpu_has_amx(with_amx)
    assert not cpu_has_amx(without)
