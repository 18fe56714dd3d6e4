"""A long conversation never outgrows the embedded model's context (SmolLM2, real)."""

from __future__ import annotations

import asyncio

from llama_cpp import llama_cpp

from desktop_app.backends.llm.llama_local import LlamaChatModel
from desktop_app.config import AppPaths
from desktop_app.core.conversation import Conversation, TurnRecord


async def test_a_conversation_longer_than_the_context_still_gets_a_reply():
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, context=512, max_tokens=24, temperature=0.0)
    try:
        await model.load()
        conversation = Conversation()
        for i in range(40):  # ~40 x 40 tokens: three times the 512-token context
            conversation.turns.append(TurnRecord(f"Tell me fact number {i} about the ocean, please, in detail.", f"Fact {i}: the ocean is deep, wide, salty and full of life, and it covers most of the planet."))
        messages = conversation.to_messages("You are brief.", "What is two plus two?")
        assert sum(len(m["content"]) for m in messages) > 4 * 512  # well over the context
        await model.prime(messages)  # the pre-evaluation fits too
        reply = await asyncio.wait_for(_collect(model, messages), timeout=120)
        assert reply.strip()
        kept = model._fit(messages)
        assert kept[0]["role"] == "system" and kept[-1] == messages[-1]  # the new words stay
        assert kept[1]["role"] == "user" and len(kept) < len(messages)  # the oldest went
    finally:
        await model.aclose()


async def _collect(model: LlamaChatModel, messages) -> str:
    return "".join([delta async for delta in model.stream(messages)])


async def test_the_cut_stays_put_so_the_prompt_prefix_stays_cached():
    """Turn after turn of a long conversation, the prompt mostly grows at its end: the
    history is cut again only when the context fills up, not every turn (a moving cut
    changes the prompt's start, and llama.cpp then evaluates all of it again)."""
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, context=512, max_tokens=24, temperature=0.0)
    try:
        await model.load()
        conversation = Conversation()
        previous: list | None = None
        cuts = kept_prefix = 0
        for i in range(60):
            conversation.turns.append(TurnRecord(f"Tell me fact number {i} about the ocean.", f"Fact {i}: the ocean is deep and salty."))
            kept = model._fit(conversation.to_messages("You are brief.", f"And fact {i + 1}?"))
            assert kept[1]["role"] == "user"  # never starts on a reply
            history = kept[1:-1]
            if previous is not None and len(history) < len(conversation.turns) * 2:
                if history[: len(previous)] == previous:
                    kept_prefix += 1  # the same start: llama.cpp reuses the cached prefix
                else:
                    cuts += 1
            previous = history
        assert cuts >= 2  # the conversation outgrew the context several times over
        assert kept_prefix >= 2 * cuts, (kept_prefix, cuts)  # most turns only append (a quarter of a 512-token room: 3-4 exchanges)
    finally:
        await model.aclose()


async def test_a_context_cut_slides_the_cache_instead_of_evaluating_the_kept_history_again():
    """When the conversation outgrows the context, the oldest exchanges go; the kept ones
    are already in llama.cpp's cache, further along. They are slid down over the dropped
    ones (llama_slide.py), so the turn evaluates only its new words, not the whole kept
    history (2000 tokens: 19-32 s for Qwen on two cores), and the model still reads the
    kept history right."""
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, context=1024, max_tokens=24, temperature=0.0)
    try:
        await model.load()
        conversation = Conversation()
        for i in range(200):
            conversation.turns.append(TurnRecord(f"Tell me fact number {i} about the ocean, please.", f"Fact {i}: the ocean is deep, wide and salty, and it covers most of the planet."))
            if i == 14:
                conversation.turns.append(TurnRecord("Please remember this: the code word is pelican.", "Understood: the code word is pelican."))
            messages = conversation.to_messages("You are brief.", "Thanks.")
            if len(model._fit(messages)) < len(messages):  # one exchange too many: the next turn cuts
                conversation.turns.pop()
                break
        model._cuts.clear()  # (measuring the fit above recorded a cut)
        await model.prime(conversation.to_messages("You are brief.", "Thanks."))  # a reply was written: evaluated
        conversation.turns.append(TurnRecord("Thanks.", "You are welcome."))
        question = conversation.to_messages("You are brief.", "What is the code word?")
        kept = model._fit(question)
        assert 1 < len(kept) < len(question)  # this turn cuts
        kept_tokens = sum(len(model._llama.tokenize(m["content"].encode(), add_bos=False)) for m in kept[1:-3])
        assert kept_tokens > 300  # a history worth sliding: all of it would be evaluated again

        before = llama_cpp.llama_perf_context(model._llama.ctx).n_p_eval
        reply = await asyncio.wait_for(_collect(model, question), timeout=120)
        evaluated = llama_cpp.llama_perf_context(model._llama.ctx).n_p_eval - before
        assert evaluated < 80, evaluated  # the last exchange and the question (~25 tokens), not the history
        assert "pelican" in reply.lower(), reply  # the slid history reads as it was written
    finally:
        await model.aclose()


async def test_the_cache_is_not_slid_into_another_conversation():
    """Browser sessions share the model. A conversation whose prompt turns up further
    along in another one's cache (here: the other began with one more exchange) is
    evaluated in full, not slid there: those cached tokens were computed after the other
    conversation's words."""
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, context=1024, max_tokens=8, temperature=0.0)
    try:
        await model.load()
        shared = [TurnRecord(f"Tell me fact number {i} about the ocean, please.", f"Fact {i}: the ocean is deep, wide and salty.") for i in range(6)]
        theirs = Conversation()
        theirs.turns = [TurnRecord("My secret is that I am a spy.", "I will keep it."), *shared]
        mine = Conversation()
        mine.turns = list(shared)
        await model.prime(theirs.to_messages("You are brief.", "Thanks."))
        question = mine.to_messages("You are brief.", "What is my secret?")
        mine_tokens = sum(len(model._llama.tokenize(m["content"].encode(), add_bos=False)) for m in question[1:])
        before = llama_cpp.llama_perf_context(model._llama.ctx).n_p_eval
        await asyncio.wait_for(_collect(model, question), timeout=120)
        evaluated = llama_cpp.llama_perf_context(model._llama.ctx).n_p_eval - before
        assert evaluated >= mine_tokens, (evaluated, mine_tokens)  # all of it, not slid into theirs
    finally:
        await model.aclose()
