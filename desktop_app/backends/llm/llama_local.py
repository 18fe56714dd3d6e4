"""Embedded llama.cpp (llama-cpp-python) in-process, streamed token by token."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import platform
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import AsyncIterator, Iterator

from desktop_app.backends.llm.base import ChatModel, Message, text_only
from desktop_app.bundled_models import Progress, gguf_path
from desktop_app.core.threads import ModelThread
from desktop_app.errors import ModelNotFoundError

MAX_HOLD_S = 1.0  # a hold (see LlamaChatModel.hold) never stalls a reply longer than this


def cpu_has_amx(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether this CPU may have AMX tiles, where llama.cpp's AMX buffer type crashes.

    True when the kernel lists an ``amx`` flag, and on an x86 machine whose flags cannot
    be read (another OS): the safe answer there.
    """
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return any(flag.startswith("amx") for flag in flags.split(":", 1)[-1].split())


def build_has_amx() -> bool:
    """Whether this llama.cpp was compiled with AMX kernels (a native build on an AMX CPU;
    the installers' portable build has none)."""
    import llama_cpp

    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


def repack_is_safe() -> bool:
    """Extra buffer types crash only where AMX kernels meet an AMX CPU."""
    return not (build_has_amx() and cpu_has_amx())


@contextlib.contextmanager
def extra_buffer_types(enabled: bool):
    """Create models with llama.cpp's extra buffer types (weights repacked for the CPU's
    vector units; AMX tiles where compiled in) on or off.

    On CPUs with AMX a native build segfaults in libggml-cpu on the first decode when
    the AMX extra buffer type is used; ``GGML_AMX=0`` does not help, so there they are
    off (:func:`repack_is_safe`). Elsewhere the repacked weights (Q4_K as 8x8 blocks)
    decode 14 % faster and evaluate batches of 30 tokens or more 30 % slower
    (``benchmarks/llm_repack.py``, AMD EPYC): a spoken turn, primed while the user
    speaks, evaluates a few tokens and then decodes, so it gains. The field lives in the
    ``llama_model_params`` struct that ``Llama.__init__`` fetches from
    ``llama_model_default_params()``, so wrap that for the duration of construction.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    original = llama_cpp.llama_model_default_params

    def patched():
        params = original()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = enabled
        return params

    llama_module.llama_cpp.llama_model_default_params = patched
    try:
        yield
    finally:
        llama_module.llama_cpp.llama_model_default_params = original


log = logging.getLogger(__name__)

MAX_REMEMBERED_CUTS = 32  # conversations (browser sessions share the model) whose cut is kept


def _fingerprint(messages: list[Message]) -> str:
    """Which conversation this is: its first exchange."""
    text = "\0".join(f"{m.get('role')}\0{m.get('content')}" for m in messages)
    return hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=12).hexdigest()


def _conversation_key(messages: list[Message]) -> str:
    """The fingerprint of the conversation's first exchange ("": it has none yet)."""
    keep_head = 1 if messages and messages[0].get("role") == "system" else 0
    history = messages[keep_head:-1]
    return _fingerprint(history[:2]) if history else ""


class LlamaChatModel(ChatModel):
    runs_locally = True

    def __init__(
        self,
        model: str = "qwen2.5-coder-1.5b",
        cache_dir: Path | None = None,
        threads: int = 0,
        context: int = 4096,
        max_tokens: int = 512,
        temperature: float = 0.7,
        progress: Progress | None = None,
        system_prompt: str = "",
    ) -> None:
        self.name = f"llama.cpp {model}"
        self._model_name = model
        self._cache_dir = cache_dir or Path.home() / ".cache" / "aiwebcam" / "models"
        self._threads = threads or (os.cpu_count() or 2)
        self._context = context
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._progress = progress
        self._system_prompt = system_prompt
        self._llama = None
        self._thread = ModelThread("llm")
        self._pending_prime: list[Message] | None = None
        self._priming = False
        self._go = threading.Event()  # cleared by hold(True): generation waits between tokens
        self._go.set()
        # Per conversation (its first message after the system prompt), how many of its oldest
        # messages are cut: the cut stays where it is until the context fills again, so the
        # prompt's prefix, and llama.cpp's cache of it, stay the same from turn to turn.
        self._cuts: OrderedDict[str, int] = OrderedDict()
        self._cached_conversation = ""  # the one whose prompt llama.cpp's cache holds (its key)

    async def load(self) -> None:
        if self._llama is None:
            self._llama = await self._thread.run(self._load_blocking)

    def _load_blocking(self):
        from desktop_app.backends.llm.llama_slide import SlidingLlama

        path = gguf_path(self._model_name, self._cache_dir, self._progress)
        try:
            with extra_buffer_types(repack_is_safe()):
                llama = SlidingLlama(  # a context cut slides the cache (llama_slide.py)
                    model_path=str(path),
                    n_ctx=self._context,
                    n_threads=self._threads,
                    n_threads_batch=self._threads,
                    n_batch=512,
                    # Flash attention: the attention scores are never stored whole, so
                    # the compute buffer's pages stop growing with the conversation
                    # (RSS after 3800 tokens: +149 -> +74 MB for Qwen 1.5B, +109 -> +19
                    # for SmolLM2). Decoding is as fast, a context cut's re-evaluation 5 %
                    # faster, and the tokens left at the release 4 % slower (+10 ms):
                    # benchmarks/llm_flash_attention.py, AMD EPYC.
                    flash_attn=True,
                    # AIWEBCAM_LLAMA_VERBOSE=1: llama.cpp prints, for every request, how
                    # much of the prompt was cached, what was evaluated and its timings
                    verbose=os.environ.get("AIWEBCAM_LLAMA_VERBOSE") == "1",
                )
        except ValueError as exc:
            raise ModelNotFoundError(f"cannot load {path}: {exc}") from None
        # Warm-up: evaluate the system prompt now. llama.cpp keeps its KV cache and
        # reuses the longest common token prefix, so the first turn only evaluates
        # the user's words.
        warm: list[Message] = [{"role": "user", "content": "Hi"}]
        if self._system_prompt.strip():
            warm.insert(0, {"role": "system", "content": self._system_prompt.strip()})
        llama.create_chat_completion(messages=warm, max_tokens=1)
        return llama

    async def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        self._pending_prime = None  # the real request supersedes any waiting pre-evaluation
        await self.load()
        prompt = text_only(messages)
        async for delta in self._thread.stream(lambda stop: self._generate(prompt, stop)):
            yield delta

    def _fit(self, messages: list[Message]) -> list[Message]:
        """The messages cut to the model's context: the oldest exchanges go first (down to
        3/4 of the room), the system prompt and the new words stay. Without this a long
        conversation outgrows the context and the request fails or stalls.

        The cut is sticky: the next turns keep cutting at the same message until the rest
        fills the room again. Cutting afresh each turn moved the start of the history by one
        exchange every turn, and llama.cpp evaluated the whole prompt again every time (a
        3000-token prompt: seconds before the first word)."""
        keep_head = 1 if messages and messages[0].get("role") == "system" else 0
        head, history, last = messages[:keep_head], messages[keep_head:-1], messages[-1:]
        key = _conversation_key(messages)
        dropped = min(self._cuts.get(key, 0), len(history))
        if dropped and history[dropped - 1].get("role") == "user":  # (never start on a reply)
            dropped -= 1
        kept = history[dropped:]
        room = self._llama.n_ctx() - self._max_tokens - 32
        cost = lambda m: len(self._llama.tokenize(str(m.get("content", "")).encode("utf-8"), add_bos=False)) + 8  # noqa: E731
        fixed = sum(cost(m) for m in head) + sum(cost(m) for m in last)
        costs = [cost(m) for m in kept]
        if fixed + sum(costs) > room:
            total = fixed + sum(costs)
            target = min(room, int(room * 0.75) + fixed)
            while kept and total > target:
                total -= costs.pop(0)
                kept.pop(0)
                dropped += 1
                if kept and kept[0].get("role") == "assistant":  # never start on a reply
                    total -= costs.pop(0)
                    kept.pop(0)
                    dropped += 1
            log.info("conversation cut to the model's context: %d of %d messages kept", len(head) + len(kept) + 1, len(messages))
        if key and dropped:
            self._cuts[key] = dropped
            self._cuts.move_to_end(key)
            while len(self._cuts) > MAX_REMEMBERED_CUTS:
                self._cuts.popitem(last=False)
        return head + kept + last

    def _request(self, messages: list[Message]) -> list[Message]:
        """The messages of a request, cut to the context (``_fit``). The cache may be slid
        over a cut (llama_slide.py) only when it holds this same conversation: browser
        sessions share the model, and must not borrow each other's cached context."""
        key = _conversation_key(messages)
        self._llama.may_slide = bool(key) and key == self._cached_conversation
        self._cached_conversation = key
        return self._fit(messages)

    def _generate(self, messages: list[Message], stop: threading.Event) -> Iterator[str]:
        messages = self._request(messages)
        chunks = self._llama.create_chat_completion(
            messages=messages,
            stream=True,
            max_tokens=self._max_tokens,
            temperature=self._temperature,
        )
        try:
            for chunk in chunks:
                if stop.is_set():
                    return
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta
                if not self._wait_unheld(stop):
                    return
        finally:
            chunks.close()

    def hold(self, held: bool) -> None:
        """Pause generation between tokens while the first sentence is synthesized.

        On two cores, Piper synthesizing the first chunk while llama.cpp decodes on the
        same cores takes about twice as long as alone; the reply's first audio is what
        the user waits for, the next tokens are not (the first chunk plays for a second
        or more). A hold lasts at most ``MAX_HOLD_S``, whatever happens.
        """
        if held:
            self._go.clear()
        else:
            self._go.set()

    def _wait_unheld(self, stop: threading.Event) -> bool:
        """False when the request was stopped while held."""
        deadline = time.monotonic() + MAX_HOLD_S
        while not self._go.wait(0.02):
            if stop.is_set():
                return False
            if time.monotonic() > deadline:
                self._go.set()
        return True

    async def prime(self, messages: list[Message]) -> None:
        """Evaluate ``messages`` now; a later stream() sharing the prefix only adds the rest.

        Requests coalesce: while one runs, only the newest waiting one is kept.
        """
        self._pending_prime = text_only(messages)
        if self._priming:
            return
        self._priming = True
        try:
            await self.load()
            while self._pending_prime is not None:
                pending, self._pending_prime = self._pending_prime, None
                await self._thread.run(self._prime_blocking, pending)
        finally:
            self._priming = False

    def _prime_blocking(self, messages: list[Message]) -> None:
        # One sampled token: the whole prompt goes through the model and stays cached.
        self._llama.create_chat_completion(messages=self._request(messages), max_tokens=1, temperature=0.0)

    async def aclose(self) -> None:
        self._thread.shutdown()
