"""Conversations: ordered turns, rendered to OpenAI chat messages, saved after every turn."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from desktop_app.core.sight import View, user_content, with_note
from desktop_app.storage import atomic_write_bytes, atomic_write_text

FORMAT_VERSION = 1


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def jpeg_data_url(jpeg: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def cut_off(reply: str) -> str:
    """A reply the user stopped (or an error cut), as the model is given it: the words
    that were delivered, trailing off. A bracketed note ("[interrupted by the user]") was
    copied into later replies by small models, and the voice read it aloud."""
    return reply.rstrip().rstrip(".!?,;:") + "…"


@dataclass
class TurnRecord:
    user_text: str
    reply_text: str = ""  # what was delivered to the user, even when cut short
    interrupted: bool = False
    error: str = ""  # one-line error when the reply failed
    image_file: str = ""  # JPEG next to the conversation file, relative name
    view: str = ""  # what the model was given of the view ("screen: text (4 lines)")
    view_text: str = ""  # the text OCR read from the frame, as the model got it
    view_note: str = ""  # the note before the user's words, as the model got it (core.sight)
    created: str = field(default_factory=_now_iso)
    metrics: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TurnRecord":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3))
    created: str = field(default_factory=_now_iso)
    turns: list[TurnRecord] = field(default_factory=list)

    @property
    def title(self) -> str:
        for turn in self.turns:
            if turn.user_text:
                text = " ".join(turn.user_text.split())
                return text if len(text) <= 60 else text[:57] + "..."
        return "New conversation"

    def to_messages(
        self, system_prompt: str, user_text: str, image_jpeg: bytes | None = None, view: View | None = None
    ) -> list[dict[str, Any]]:
        """OpenAI chat messages: the system prompt, the history, then the new user turn.

        Only the new turn carries its image; its ``view`` note (the OCR text of the frame,
        or that the model cannot see it) goes before the words. Earlier turns are text: what
        was said, with the note it was sent with (so the prompt an embedded model has in its
        cache stays a prefix of the next one: dropping the note made llama.cpp evaluate the
        last exchange again every turn, ~1 s on 2 cores), and what was delivered back
        (trailing off when it was cut short: :func:`cut_off`).
        Failed turns with no reply are left out.
        """
        messages: list[dict[str, Any]] = []
        if system_prompt.strip():
            messages.append({"role": "system", "content": system_prompt.strip()})
        for turn in self.turns:
            if not turn.reply_text:
                continue
            messages.append({"role": "user", "content": with_note(turn.view_note, turn.user_text)})
            reply = cut_off(turn.reply_text) if turn.interrupted else turn.reply_text
            messages.append({"role": "assistant", "content": reply})
        text = user_content(user_text, view)
        if image_jpeg:
            content: Any = [
                {"type": "text", "text": text},
                {"type": "image_url", "image_url": {"url": jpeg_data_url(image_jpeg)}},
            ]
        else:
            content = text
        messages.append({"role": "user", "content": content})
        return messages

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "id": self.id,
            "created": self.created,
            "title": self.title,
            "turns": [asdict(t) for t in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Conversation":
        return cls(
            id=str(data["id"]),
            created=str(data.get("created", "")),
            turns=[TurnRecord.from_dict(t) for t in data.get("turns", [])],
        )


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    created: str
    turns: int
    path: Path


class ConversationStore:
    """One JSON file per conversation (plus its images), written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_of(self, conversation_id: str) -> Path:
        return self.directory / f"{conversation_id}.json"

    def save(self, conversation: Conversation) -> Path:
        path = self.path_of(conversation.id)
        atomic_write_text(path, json.dumps(conversation.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return path

    def save_image(self, conversation: Conversation, turn_index: int, jpeg: bytes) -> str:
        name = f"{conversation.id}/turn-{turn_index:04d}.jpg"
        atomic_write_bytes(self.directory / name, jpeg)
        return name

    def image_path(self, name: str) -> Path:
        return self.directory / name

    def load(self, conversation_id: str) -> Conversation:
        data = json.loads(self.path_of(conversation_id).read_text(encoding="utf-8"))
        return Conversation.from_dict(data)

    def list(self) -> list[ConversationSummary]:
        """Saved conversations, newest first. Unreadable files are skipped."""
        out = []
        if not self.directory.exists():
            return out
        for path in self.directory.glob("*.json"):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                out.append(ConversationSummary(str(data["id"]), str(data.get("title", "")), str(data.get("created", "")), len(data.get("turns", [])), path))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        out.sort(key=lambda s: (s.created, s.id), reverse=True)
        return out

    def latest(self) -> Conversation | None:
        summaries = self.list()
        return self.load(summaries[0].id) if summaries else None
