"""Has the user finished? (hands-free: how long to wait for more)

Hands-free ends a turn after a pause. A fixed pause is a compromise: long enough that a
user thinking mid-sentence ("I'd like to, um, ...") is not cut off, which makes every
finished question wait for it too. Two signals tell the two apart:

* an :class:`EndOfTurnModel` (Smart Turn v3, ``backends.turn``) hears it in the audio:
  intonation, a trailing "um". Asked once per pause, after a short silence; when it says
  finished, the short pause ends the turn, otherwise the full ``turn_pause_ms`` applies;
* the live transcript (:func:`sounds_finished`): a question, or a sentence of a few words
  ending with a full stop and not with a word that announces more ("and", "um", "the").
  Alone it is weak, Whisper punctuates hesitations as full sentences ("I would like to
  know."), so with a model it only vetoes: a transcript that clearly goes on ("... and")
  keeps the long pause whatever the model says. Without a model it decides alone.

Both err on the side of waiting: a wrong "finished" cuts the user off, a wrong
"unfinished" only costs the difference between the two pauses.
"""

from __future__ import annotations

import re
from typing import Protocol

import numpy as np


class EndOfTurnModel(Protocol):
    """Audio -> probability that the speaker has finished their turn."""

    name: str

    async def load(self) -> None: ...

    async def probability(self, pcm: np.ndarray) -> float:
        """``pcm``: the utterance so far (16 kHz mono float32), ending in the pause."""
        ...

    async def aclose(self) -> None: ...

MIN_WORDS = 3  # "Yes." and "Okay." may be the start of something longer

# Words after which a speaker usually goes on: conjunctions, fillers, articles,
# prepositions, auxiliaries.
CONTINUES = frozenset(
    """
    and but or so because cause then also plus like um uh er erm hmm mm well
    the a an my your his her our their this that these those some any
    to of in on at for with from by about into than as if when while whether
    is are was were be been am do does did have has had can could will would should
    i you we they he she it what which who where how why let me think maybe
    """.split()
)

# After a question mark only these still announce more ("Is it this one or?").
TRAILING = frozenset("and but or so because cause um uh er erm hmm like the a an".split())

_WORD = re.compile(r"[a-z']+")


def goes_on(text: str) -> bool:
    """True when ``text`` clearly announces more: it ends with a conjunction, a filler,
    an article or a preposition, or trails off ("...", a comma)."""
    stripped = text.strip()
    if not stripped:
        return False
    if stripped.endswith(("...", "\u2026", ",", "-", ":", ";")):
        return True
    words = _WORD.findall(stripped.lower())
    return bool(words) and words[-1] in TRAILING | {"to", "of", "with", "for", "my", "your", "about", "and"}


def sounds_finished(text: str) -> bool:
    """True when ``text`` reads as a complete question or statement."""
    stripped = text.strip()
    if not stripped or stripped.endswith(("...", "\u2026", ",", "-", ":", ";")):
        return False
    words = _WORD.findall(stripped.lower())
    if not words:
        return False
    if stripped.endswith("?"):
        return words[-1] not in TRAILING
    if not stripped.endswith((".", "!")):
        return False
    return len(words) >= MIN_WORDS and words[-1] not in CONTINUES
