"""Language model interface: OpenAI-style chat messages in, streamed text out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, AsyncIterator

Message = dict[str, Any]  # {"role": ..., "content": str | [parts]} (OpenAI chat format)


class ChatModel(ABC):
    name: str = "llm"
    vision: bool = False  # accepts image parts in user messages

    @abstractmethod
    async def load(self) -> None:
        """Load and warm the model so the first turn does not pay for it."""

    @abstractmethod
    def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        """Yield reply text deltas. Closing the iterator stops generation."""

    async def prime(self, messages: list[Message]) -> None:
        """Evaluate a prompt ahead of time (the user is still talking). Optional."""
        return None

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False) generation between tokens, to give the CPU to
        the first sentence's speech synthesis. Optional: remote models ignore it."""
        return None

    async def aclose(self) -> None:
        return None


def text_only(messages: list[Message]) -> list[Message]:
    """Drop image parts for models that cannot see."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append({**message, "content": content})
    return out
