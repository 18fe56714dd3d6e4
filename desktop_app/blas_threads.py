"""numpy's BLAS on one thread, so its idle worker does not spin on a core the LLM needs.

numpy's OpenBLAS starts one worker per core. After each call the worker busy-waits for
the next one (``blas_thread_server``) instead of sleeping, and the app's BLAS calls are
small and frequent: Whisper's log-mel features (a 80x201 filter bank times the spectrum)
for every transcription pass and every end-of-turn question. Profiled in the window,
hands-free, AMD EPYC, 2 cores (``perf record`` over 10 turns): that worker spent 2.5 % of
the process's samples spinning and 0.1 % working, a quarter of it while llama.cpp
decoded. Measured with llama.cpp decoding on both cores and the features of 3 s of audio
made every 0.3 s: 21.2 tokens/s with the default pool, 24.3 with one thread, and the
features themselves took 14.8 ms instead of 1.4.

Set once, as the backends are made (``backends.factory``); threadpoolctl finds the BLAS
numpy loaded, whatever the import order. An ``OPENBLAS_NUM_THREADS`` set by the user wins.
"""

from __future__ import annotations

import os


def one_blas_thread() -> None:
    if os.environ.get("OPENBLAS_NUM_THREADS"):
        return  # the user chose
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
