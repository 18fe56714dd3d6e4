"""A reply the user cut short, given back to the model, is not copied into the next one
(SmolLM2, real, temperature 0).

The history used to end such a reply with a bracketed note ("... named [interrupted by
the user]"). SmolLM2 copied it, or wrote bracketed placeholders of its own ("The capital
of Italy is [capital_city_name]"), and the voice read them aloud. The e2e test's
hands-free screenshot showed one ("... Paris. [interrupted by the user").
"""

from __future__ import annotations

import asyncio

from desktop_app.backends.llm.llama_local import LlamaChatModel
from desktop_app.config import DEFAULT_SYSTEM_PROMPT, AppPaths
from desktop_app.core.conversation import Conversation, TurnRecord

ASKED = "Tell me a long story about a brave knight who fights a dragon."
CUT_STORIES = (
    "Once upon a time, in a land far away, there lived a brave knight named Sir Cedric. He",
    "Once upon a time there was a brave knight named",
    "In a kingdom by the sea, a young knight called Roland set out",
)
QUESTIONS = ("What is the capital of France?", "Wait, what is the capital of Italy?", "How many legs does a spider have?")


async def test_the_next_reply_after_a_cut_one_has_no_note_in_brackets():
    model = LlamaChatModel("smollm2-135m", AppPaths.from_env().models_dir, max_tokens=48, temperature=0.0)
    try:
        await model.load()
        replies = []
        for story in CUT_STORIES:
            conversation = Conversation()
            conversation.turns.append(TurnRecord(ASKED, story, interrupted=True))
            for question in QUESTIONS:
                messages = conversation.to_messages(DEFAULT_SYSTEM_PROMPT, question)
                replies.append(await asyncio.wait_for(_collect(model, messages), timeout=60))
        assert all(reply.strip() for reply in replies)
        copied = [reply for reply in replies if "[" in reply or "interrupted" in reply.lower()]
        assert copied == [], f"{len(copied)} of {len(replies)} replies: {copied}"
    finally:
        await model.aclose()


async def _collect(model: LlamaChatModel, messages) -> str:
    return "".join([delta async for delta in model.stream(messages)])
