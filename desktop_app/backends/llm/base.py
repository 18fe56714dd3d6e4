"""Language model interface: defined by the engine (``core.ports``), implemented here."""

from __future__ import annotations

from desktop_app.core.ports import ChatModel, Message

__all__ = ["ChatModel", "Message", "text_only"]


def text_only(messages: list[Message]) -> list[Message]:
    """Drop image parts for models that cannot see."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(p.get("text", "") for p in content if p.get("type") == "text")
        out.append({**message, "content": content})
    return out
