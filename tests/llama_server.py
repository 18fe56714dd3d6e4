"""A real OpenAI-compatible chat server for tests: llama-cpp-python's own
(``python -m llama_cpp.server``, the ``[server]`` extra) serving SmolLM2-135M on loopback.

This is the program a user points the app at (``llm_provider=openai``,
``llm_base_url=http://host:port/v1``), the same family as Ollama, vLLM or llama.cpp's
``llama-server``. :class:`LlamaServer` runs it as a subprocess on a fixed port, so a test
can SIGKILL it in the middle of a reply and start it again where the app expects it.

Launched with ``-c`` so llama.cpp's extra buffer types are off first: on some x86 CPUs
(AMX) the default build segfaults on the first decode (see docs/platform notes); the
server has no option for it. One thread (``--n_threads 1``): the machine is shared.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

MODEL_NAME = "smollm2-135m"  # the name the server serves the model as (--model_alias)

_LAUNCH = """
import runpy, sys
import llama_cpp.llama_cpp as c
_default = c.llama_model_default_params
def _params():
    p = _default()
    if hasattr(p, "use_extra_bufts"):
        p.use_extra_bufts = False
    return p
c.llama_model_default_params = _params
sys.argv = ["llama_cpp.server", *sys.argv[1:]]
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


def smollm2_gguf() -> Path:
    from desktop_app.bundled_models import gguf_path

    return gguf_path(MODEL_NAME, Path("/nonexistent"))  # SmolLM2 is used in place: no cache


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1:``port``; start, kill, start again."""

    def __init__(self, log_path: Path, port: int | None = None, threads: int = 1, context: int = 2048) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.threads = threads
        self.context = context
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_s: float = 180.0) -> None:
        assert not self.running
        args = [
            sys.executable, "-c", _LAUNCH,
            "--model", str(smollm2_gguf()),
            "--model_alias", MODEL_NAME,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            "--n_ctx", str(self.context),
            "--verbose", "False",
        ]  # fmt: skip
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode}: {self.log_tail()}")
            if self.models() is not None:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s} s: {self.log_tail()}")

    def models(self) -> list[str] | None:
        """The served model ids, or None while the server does not answer."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                return [m["id"] for m in json.load(response)["data"]]
        except (OSError, urllib.error.URLError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL: the process dies mid-reply, no goodbye on its sockets but the kernel's."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@contextlib.contextmanager
def llama_server_running(log_path: Path) -> Iterator[LlamaServer]:
    """A started :class:`LlamaServer`, stopped at the end (a module fixture's body)."""
    server = LlamaServer(log_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
