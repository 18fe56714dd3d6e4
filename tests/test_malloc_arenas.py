"""The app bounds glibc's malloc arenas as it starts, unless the environment already does,
and gives free pages back after each turn.

Checked by glibc itself: ``malloc_info`` lists one <heap> per arena. Eight threads that
allocate at once get their own arenas without the bound, and share two with it. The
trim is checked by the process's RSS around a heap full of holes.
"""

import os
import subprocess
import sys

PROBE = r"""
import ctypes, ctypes.util, os, re, sys, tempfile, threading
from desktop_app.malloc_arenas import limit_malloc_arenas
print("set" if limit_malloc_arenas() else "not set")
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
libc.fdopen.restype = ctypes.c_void_p
libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    for _ in range(2000):
        libc.free(libc.malloc(4096))
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
with tempfile.TemporaryFile("w+") as f:
    stream = libc.fdopen(os.dup(f.fileno()), b"w")
    libc.malloc_info(0, stream); libc.fclose(stream)
    f.seek(0)
    print(len(re.findall(r"<heap nr=", f.read())))
"""


def probe(env: dict[str, str]) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout.split()
    return out[0] if out[0] != "not" else "not set", int(out[-1])


def test_the_bound_is_set_and_holds():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    state, arenas = probe(env)
    assert state == "set" and arenas <= 2, (state, arenas)


def test_the_environment_wins():
    state, arenas = probe({**os.environ, "MALLOC_ARENA_MAX": "8"})
    assert state == "not set" and arenas > 2, (state, arenas)


TRIM_PROBE = r"""
import ctypes, ctypes.util, time
from desktop_app.core.events import TurnFinished
from desktop_app.malloc_arenas import FreeMemoryAfterTurns
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) / 1024
# 300 MB in 16 KB blocks (under the mmap threshold: they come from the heap), touched;
# then all freed but every 64th, so no free run reaches the top of the heap
blocks = [libc.malloc(16384) for _ in range(19200)]
for b in blocks:
    libc.memset(b, 1, 16384)
for i, b in enumerate(blocks):
    if i % 64:
        libc.free(b)
before = rss_mb()
after_turns = FreeMemoryAfterTurns()
after_turns(TurnFinished("t1", "q", "a", False, 0.0))
deadline = time.monotonic() + 30
while after_turns.trims < 1 and time.monotonic() < deadline:
    time.sleep(0.01)
print(after_turns.trims, round(before), round(rss_mb()))
"""


def test_free_pages_go_back_after_a_turn():
    trims, before, after = map(int, subprocess.run([sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True).stdout.split())
    assert trims == 1
    assert before - after > 200, (before, after)  # ~295 MB of holes; free() alone kept them
