"""A saved conversation as a Markdown document."""

from __future__ import annotations

from desktop_app.core.conversation import Conversation


def conversation_markdown(conversation: Conversation) -> str:
    lines = [f"# {conversation.title}", "", f"*Conversation {conversation.id}, started {conversation.created}*", ""]
    for turn in conversation.turns:
        lines += [f"## You ({turn.created})", "", turn.user_text.strip(), ""]
        reply = turn.reply_text.strip()
        if reply or turn.error:
            lines += ["## AI", ""]
            if reply:
                lines += [reply, ""]
            if turn.interrupted:
                lines += ["*(interrupted)*", ""]
            if turn.error:
                lines += [f"*(error: {turn.error})*", ""]
    return "\n".join(lines).rstrip() + "\n"
