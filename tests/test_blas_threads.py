"""numpy's BLAS runs on one thread once the backends are made (its idle worker spun on a
core the LLM needed: ``desktop_app/blas_threads.py``), unless the user set it.

Checked in a fresh process, by asking OpenBLAS itself (threadpoolctl calls its
``openblas_get_num_threads``); the machine has more than one core, so the default differs.
"""

import json
import os
import subprocess
import sys

import pytest

PROBE = r"""
import json, numpy
from threadpoolctl import threadpool_info
blas = lambda: [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
before = blas()
from desktop_app.backends.factory import make_backends
from desktop_app.config import AppPaths, load_settings
paths = AppPaths.from_env()
make_backends(load_settings(paths), paths)
print(json.dumps({"before": before, "after": blas()}))
"""


def probe(tmp_path, **env) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    environ.update(AIWEBCAM_CONFIG_DIR=str(tmp_path / "config"), AIWEBCAM_DATA_DIR=str(tmp_path / "data"), **env)
    out = subprocess.run([sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the BLAS pool has one thread anyway")
def test_the_backends_hold_blas_to_one_thread(tmp_path):
    threads = probe(tmp_path)
    assert threads["before"] and all(n > 1 for n in threads["before"]), threads
    assert threads["after"] == [1] * len(threads["before"]), threads


def test_the_users_setting_wins(tmp_path):
    threads = probe(tmp_path, OPENBLAS_NUM_THREADS="2")
    assert threads["after"] == [2] * len(threads["after"]) and threads["after"], threads
