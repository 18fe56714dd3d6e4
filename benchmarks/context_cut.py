"""What a context cut costs the turn it happens on: the kept history slid in llama.cpp's
cache (``desktop_app/backends/llm/llama_slide.py``) or evaluated again.

    .venv/bin/python benchmarks/context_cut.py                  # Qwen, a 2048-token context
    .venv/bin/python benchmarks/context_cut.py --context 4096 --rounds 1

One model loaded as the app loads it (``LlamaChatModel``). Each round, with sliding on and
then off (the order alternates): a conversation that just fits the context is evaluated (as
the app does once a reply is written), one more exchange is added, and the next question
cuts the oldest exchanges. Timed: that question -> its first token; counted: the prompt
tokens llama.cpp evaluated for it. The question asks for a code word said in a kept
exchange, so the reply shows whether the slid history still reads right.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llama_cpp import llama_cpp  # noqa: E402

from benchmarks.llm_flash_attention import cpu_model  # noqa: E402
from desktop_app.backends.llm.llama_local import LlamaChatModel  # noqa: E402
from desktop_app.config import AppPaths  # noqa: E402
from desktop_app.core.conversation import Conversation, TurnRecord  # noqa: E402

SYSTEM = "You are a helpful assistant. Answer briefly."
TOPICS = "rivers mountains deserts forests volcanoes glaciers islands caves lakes storms".split()


def cuts(model: LlamaChatModel, messages: list) -> bool:
    model._cuts.clear()  # (the app remembers where each conversation was cut: measure afresh)
    cut = len(model._fit(messages)) < len(messages)
    model._cuts.clear()
    return cut


def conversation_at_the_cut(model: LlamaChatModel, seed: int) -> tuple[list, list]:
    """The prompt the cache holds (it fits the context) and the next turn's, which is cut;
    a code word was said in an exchange that the cut keeps."""
    conversation = Conversation()
    while not cuts(model, conversation.to_messages(SYSTEM, "Thanks.")):
        i = len(conversation.turns)
        topic = TOPICS[(i + seed) % len(TOPICS)]
        conversation.turns.append(TurnRecord(f"Tell me something about {topic}, number {i}.", f"Here is fact {i} about {topic}: they shape the land and the weather around them, often for millions of years."))
    code_word = ("pelican", "lantern", "harbor", "copper")[seed % 4]
    conversation.turns[len(conversation.turns) * 2 // 3] = TurnRecord(f"Please remember this: the code word is {code_word}.", f"Understood: the code word is {code_word}.")
    while True:
        last = conversation.turns.pop()
        cached = conversation.to_messages(SYSTEM, last.user_text)
        conversation.turns.append(last)
        question = conversation.to_messages(SYSTEM, "What is the code word?")
        if not cuts(model, cached) and cuts(model, question):
            return cached, question
        conversation.turns.append(TurnRecord("Thanks.", "You are welcome."))


async def cut_turn(model: LlamaChatModel, seed: int) -> dict:
    cached, question = conversation_at_the_cut(model, seed)
    await model.prime(cached)  # as the app does once a reply is written
    perf = lambda: llama_cpp.llama_perf_context(model._llama.ctx).n_p_eval  # noqa: E731
    before, started, first, reply = perf(), time.perf_counter(), None, ""
    async for delta in model.stream(question):
        first = first or time.perf_counter()
        reply += delta
    return {"first_token_ms": (first - started) * 1000, "evaluated": perf() - before, "kept": len(model._fit(question)) - 2, "of": len(question) - 2, "reply": reply.strip()}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--context", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}; model {args.model}; context {args.context}; {args.rounds} rounds, alternated")
    model = LlamaChatModel(args.model, AppPaths.from_env().models_dir, context=args.context, max_tokens=24, temperature=0.0, system_prompt=SYSTEM)
    await model.load()
    results: dict[bool, list[dict]] = {True: [], False: []}
    for r in range(args.rounds):
        for slides in ((True, False) if r % 2 == 0 else (False, True)):
            model._llama.slides = slides
            result = await cut_turn(model, r)
            results[slides].append(result)
            print(f"round {r + 1} sliding {'on ' if slides else 'off'}: first token {result['first_token_ms']:.0f} ms, {result['evaluated']} tokens evaluated, {result['kept']} of {result['of']} messages kept; reply: {result['reply']!r}")
    await model.aclose()
    on = statistics.median(x["first_token_ms"] for x in results[True])
    off = statistics.median(x["first_token_ms"] for x in results[False])
    print(f"the cut turn's first token, p50: sliding off {off:.0f} ms, on {on:.0f} ms (on/off {on / off:.3f})")


if __name__ == "__main__":
    asyncio.run(main())
