"""What the model is told about the user's view, so it never pretends to see.

A model that takes images gets the frame itself. A model that does not gets the text
OCR read from the frame, in a block that says what it is, or a line saying that it
cannot see the view. Its system prompt says so once, so it answers "I can't see that"
instead of inventing what is on the screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

BLIND_RULES = (
    "In this call you cannot see: no image or video reaches you, only the user's words, and "
    "sometimes text that OCR read from their camera or screen, marked as such. If the user "
    "asks about anything visible that is not in that text (how they look, a colour, an "
    "object, a picture), say that you cannot see it. Never guess or invent what is on the "
    "screen or in front of the camera."
)

Given = Literal["image", "text", "no text", "nothing", "late"]


def system_prompt(base: str, vision: bool) -> str:
    """The system prompt a model gets: ``base``, plus the rules for a blind model."""
    base = base.strip()
    if vision:
        return base
    return f"{base}\n\n{BLIND_RULES}" if base else BLIND_RULES


@dataclass(frozen=True)
class View:
    """What one turn gives the model of the user's view."""

    source: str  # "camera", "screen", "screen region", "window", "picture", ...
    # image: the frame itself; text: its OCR text; no text: read, none found; nothing: the
    # frame reaches the model in no form; late: its reading did not finish in time
    given: Given
    text: str = ""  # the OCR text, when read

    def block(self) -> str:
        """The note placed before the user's words; "" when the model gets the image alone."""
        if self.given == "text":
            return f"[Text visible on the user's {self.source} (OCR, may contain errors):\n{self.text}\n]"
        if self.given == "no text":
            return (
                f"[The user's {self.source} is shared, but it shows no readable text, and you "
                "cannot see the picture itself.]"
            )
        if self.given == "nothing":
            return f"[The user's {self.source} is shared, but you cannot see it: neither the image nor its text reaches you.]"
        if self.given == "late":
            return f"[The user's {self.source} is shared, but its text could not be read in time: you cannot see it now.]"
        if self.text:  # the image, with its OCR text along (the user asked for it)
            return f"[Text visible on the user's {self.source} (OCR, may contain errors):\n{self.text}\n]"
        return ""

    def describe(self) -> str:
        """One short line for the faces: what the AI was given."""
        if self.given == "image":
            return f"{self.source}: image" + (" + text" if self.text else "")
        if self.given == "text":
            return f"{self.source}: text ({len(self.text.splitlines())} lines)"
        if self.given == "no text":
            return f"{self.source}: no text in view"
        if self.given == "late":
            return f"{self.source}: text not read in time"
        return f"{self.source}: not given"


def user_content(user_text: str, view: View | None) -> str:
    """The user's words with the view's note before them (a stable prefix for the cache)."""
    return with_note(view.block() if view is not None else "", user_text)


def with_note(note: str, user_text: str) -> str:
    """The user's words as the model gets them: the view's note (if any) first."""
    return f"{note}\n\n{user_text}" if note else user_text
