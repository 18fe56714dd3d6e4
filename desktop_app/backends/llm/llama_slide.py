"""A context cut without evaluating the kept history again: llama.cpp's cache is slid.

When a conversation outgrows the model's context, :class:`LlamaChatModel` drops its
oldest exchanges. The new prompt is then the system prompt, the kept exchanges and the
new words, and llama-cpp-python reuses only the longest common *prefix* of its cache:
the system prompt. Everything after it was evaluated again on the turn's critical path
(2000 kept tokens: 19-32 s on two cores).

Yet the cache already holds the kept exchanges, only further along. :func:`slide_cache`
finds them there, removes the dropped run from llama.cpp's KV cache and shifts the kept
run down over it (``llama_memory_seq_rm`` / ``llama_memory_seq_add``: the keys' rotary
positions are rotated in place, as llama.cpp's own server does for its context shift).
The prompt's prefix then matches up to the new words, which are all that is evaluated.
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
from llama_cpp import Llama, llama_cpp

log = logging.getLogger(__name__)

PROBE_TOKENS = 16  # the kept run is looked for by its first tokens
MIN_SLIDE_TOKENS = 64  # fewer than this are evaluated again in a blink: not worth a shift
MAX_PROBE_HITS = 256  # a probe found in many places (exchanges that open alike): the longest run of these


def slide_cache(llama: Llama, tokens: Sequence[int]) -> int:
    """Make ``llama``'s cache hold ``tokens`` as far as it can without evaluating them.

    When the cache holds ``tokens``' common prefix, then a run of tokens the new prompt
    no longer has, then (at least ``MIN_SLIDE_TOKENS`` of) the prompt's continuation, the
    run is dropped and the continuation moved down behind the prefix. Returns how many
    tokens were moved (0: nothing to gain, or the model's memory cannot do it: a
    sliding-window cache cannot shift, a recurrent or hybrid one cannot drop a span).
    """
    cached = np.array(llama.input_ids[: llama.n_tokens])
    new = np.asarray(tokens, dtype=cached.dtype)
    common = min(cached.size, new.size)
    differ = np.flatnonzero(cached[:common] != new[:common])
    prefix = int(differ[0]) if differ.size else common
    rest = new[prefix:]
    if rest.size < MIN_SLIDE_TOKENS or cached.size - prefix <= MIN_SLIDE_TOKENS:
        return 0
    probe = rest[:PROBE_TOKENS]
    later = cached[prefix + 1 :]
    if later.size < probe.size:
        return 0
    windows = np.lib.stride_tricks.sliding_window_view(later, probe.size)
    hits = np.flatnonzero((windows == probe).all(axis=1))
    if not hits.size:
        return 0
    run, start = max(_matching_run(cached, prefix + 1 + int(hit), rest) for hit in hits[-MAX_PROBE_HITS:])
    if run < MIN_SLIDE_TOKENS:
        return 0
    model = llama.model
    if llama_cpp.llama_model_is_recurrent(model) or llama_cpp.llama_model_is_hybrid(model):
        return 0
    memory = llama_cpp.llama_get_memory(llama.ctx)
    if not llama_cpp.llama_memory_can_shift(memory):
        return 0
    if not llama_cpp.llama_memory_seq_rm(memory, 0, start + run, -1):  # what followed the kept run
        return 0
    if not llama_cpp.llama_memory_seq_rm(memory, 0, prefix, start):  # the cut exchanges
        llama.n_tokens = start + run  # (what the cache still holds, as it is)
        return 0
    dropped = start - prefix
    llama_cpp.llama_memory_seq_add(memory, 0, start, start + run, -dropped)
    llama.input_ids[prefix : prefix + run] = cached[start : start + run]
    llama.n_tokens = prefix + run
    llama._requires_eval = True  # (the logits are not those of the last cached token)
    log.info("context cut: %d cached tokens slid over %d dropped ones, not evaluated again", run, dropped)
    return run


def _matching_run(cached: np.ndarray, start: int, rest: np.ndarray) -> tuple[int, int]:
    """How many of ``rest``'s tokens ``cached`` holds from ``start`` on, and ``start``."""
    span = min(cached.size - start, rest.size)
    differ = np.flatnonzero(cached[start : start + span] != rest[:span])
    return (int(differ[0]) if differ.size else span), start


class SlidingLlama(Llama):
    """llama-cpp-python's ``Llama``, whose requests first slide the cache
    (:func:`slide_cache`) over a cut in the conversation.

    ``may_slide`` is set for each request by its caller: only when the cache holds the
    same conversation (sessions sharing the model must not borrow each other's cached
    context: the moved tokens' keys and values were computed after what was cut).
    ``slides`` turns sliding off altogether (``benchmarks/context_cut.py``).
    """

    slides = True
    may_slide = False

    def generate(self, tokens: Sequence[int], *args, **kwargs):
        reset = kwargs.get("reset", args[6] if len(args) > 6 else True)  # (generate's 8th parameter)
        if self.slides and self.may_slide and reset and self.n_tokens:
            slide_cache(self, tokens)
        return super().generate(tokens, *args, **kwargs)
