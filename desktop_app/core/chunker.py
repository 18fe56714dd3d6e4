"""Turn a streamed markdown reply into speakable chunks.

Rules (what a listener expects from a spoken reply):

* every paragraph, heading, list item and table row is spoken, in order;
* markdown syntax is not read aloud (``#``, ``**``, backticks, link targets, bullets);
* fenced code is not read aloud: a short note says it is on screen (once per reply);
* the first chunk is cut early, at a clause boundary or after a few words, so audio
  starts while the model is still writing the first sentence;
* later chunks end at sentence ends, or at a clause/word boundary when a sentence runs
  very long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CODE_NOTE = "The code is on screen."

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s+|$)")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_ORDERED = re.compile(r"^\s*\d{1,3}[.)]\s+")
_QUOTE = re.compile(r"^\s{0,3}(>\s?)+")
_TABLE_SEPARATOR = re.compile(r"^[\s|:\-]+$")

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>]+)>")
_EMPHASIS = re.compile(r"\*+|~~|(?<!\w)_+|_+(?!\w)|`+")
_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")

_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_CLAUSE_END = re.compile(r"[,;:—–]+(?=\s)|\s[-–—]\s")
_ABBREVIATIONS = {"e.g", "i.e", "mr", "mrs", "ms", "dr", "vs", "st", "no", "fig", "approx", "cf"}
_SPEAKABLE = re.compile(r"\w")


@dataclass(frozen=True)
class SpeechChunk:
    index: int
    text: str


def clean_inline(text: str) -> str:
    """Strip inline markdown from a piece of one line."""
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _AUTOLINK.sub(lambda m: m.group(1), text)
    text = _HTML_TAG.sub("", text)
    return _EMPHASIS.sub("", text)


def _hold_back(segment: str) -> int:
    """How much of an unfinished line can be processed now.

    An open ``[`` may start a link whose target must not be spoken, so hold from there
    until the link is complete.
    """
    depth_start = None
    i = 0
    while i < len(segment):
        ch = segment[i]
        if ch == "[" and depth_start is None:
            depth_start = i - 1 if i > 0 and segment[i - 1] == "!" else i
        elif ch == "]" and depth_start is not None:
            if i + 1 >= len(segment):
                return depth_start  # a "(" may follow
            if segment[i + 1] == "(":
                close = segment.find(")", i + 2)
                if close < 0:
                    return depth_start
                i = close
            depth_start = None
        i += 1
    if depth_start is not None:
        return depth_start
    # A trailing "<" may open an autolink or a tag.
    lt = segment.rfind("<")
    if lt >= 0 and ">" not in segment[lt:]:
        return lt
    return len(segment)


class SpeechChunker:
    """Feed reply deltas with :meth:`feed`; call :meth:`flush` at the end of the reply."""

    def __init__(self, first_chunk_words: int = 4, clause_min_words: int = 3, max_words: int = 32) -> None:
        self.first_chunk_words = first_chunk_words
        self.clause_min_words = clause_min_words
        self.max_words = max_words
        self._raw = ""
        self._pos = 0
        self._line_start = True
        self._line_is_block = False  # heading / list item / quote: its end ends a chunk
        self._in_fence = False
        self._fence_marker = ""
        self._code_noted = False
        self._speech = ""
        self._chunks: list[SpeechChunk] = []
        self._count = 0

    # ---- public API -----------------------------------------------------------------

    def feed(self, delta: str) -> list[SpeechChunk]:
        self._raw += delta
        self._process(final=False)
        return self._take()

    def flush(self) -> list[SpeechChunk]:
        self._process(final=True)
        self._boundary()
        return self._take()

    # ---- internals ------------------------------------------------------------------

    def _take(self) -> list[SpeechChunk]:
        out, self._chunks = self._chunks, []
        return out

    def _emit(self, text: str) -> None:
        text = " ".join(text.split())
        if not _SPEAKABLE.search(text):
            return
        self._chunks.append(SpeechChunk(self._count, text))
        self._count += 1

    def _boundary(self) -> None:
        """A hard break (paragraph, heading, list item, code): speak what is pending."""
        if self._speech.strip():
            self._emit(self._speech)
        self._speech = ""

    def _process(self, final: bool) -> None:
        while self._pos < len(self._raw):
            rest = self._raw[self._pos :]
            newline = rest.find("\n")
            if self._in_fence:
                if newline < 0:
                    if final:
                        self._pos = len(self._raw)
                    return
                line = rest[:newline]
                self._pos += newline + 1
                if line.strip().startswith(self._fence_marker):
                    self._in_fence = False
                continue
            if self._line_start:
                if newline < 0 and not final and len(rest.lstrip()) < 4:
                    return  # too little to tell what this line is
                if not self._start_line(rest, newline, final):
                    return
                continue
            segment = rest if newline < 0 else rest[:newline]
            usable = len(segment) if (newline >= 0 or final) else _hold_back(segment)
            if usable:
                self._speech += clean_inline(segment[:usable])
                self._pos += usable
            if newline >= 0 and usable == len(segment):
                self._pos += 1
                self._line_start = True
                if self._line_is_block:
                    self._line_is_block = False
                    self._boundary()
                else:
                    self._speech += " "
            self._cut_sentences()
            if usable == 0 and newline < 0:
                return

    def _start_line(self, rest: str, newline: int, final: bool) -> bool:
        """Classify a new line and consume its block prefix. False: wait for more text."""
        line = rest if newline < 0 else rest[:newline]
        fence = _FENCE.match(line)
        whole_line_needed = fence or line.lstrip().startswith("|") or _RULE.match(line)
        if whole_line_needed and newline < 0 and not final:
            return False
        consumed_line = len(line) + (1 if newline >= 0 else 0)
        if fence:
            self._boundary()
            self._in_fence = True
            self._fence_marker = fence.group(1)
            self._pos += consumed_line
            if not self._code_noted:
                self._code_noted = True
                self._emit(CODE_NOTE)
            return True
        if not line.strip():
            self._boundary()  # blank line: paragraph break
            self._pos += consumed_line
            return True
        if _RULE.match(line):
            self._boundary()
            self._pos += consumed_line
            return True
        if line.lstrip().startswith("|"):
            self._boundary()
            self._pos += consumed_line
            if not _TABLE_SEPARATOR.match(line):
                cells = [clean_inline(c).strip() for c in line.strip().strip("|").split("|")]
                self._emit(", ".join(c for c in cells if c) + ".")
            return True
        for pattern in (_HEADING, _BULLET, _ORDERED, _QUOTE):
            match = pattern.match(line)
            if match:
                self._boundary()
                self._pos += match.end()
                self._line_is_block = pattern is not _QUOTE
                break
        self._line_start = False
        return True

    def _cut_sentences(self) -> None:
        while True:
            cut = self._find_cut(self._speech)
            if cut is None:
                return
            self._emit(self._speech[:cut])
            self._speech = self._speech[cut:].lstrip()

    def _find_cut(self, text: str) -> int | None:
        for match in _SENTENCE_END.finditer(text):
            before = text[: match.start()].split()
            last_word = before[-1].lower().rstrip(".") if before else ""
            if match.group(0).startswith(".") and last_word in _ABBREVIATIONS:
                continue
            return match.end()
        words = list(re.finditer(r"\S+(?=\s)", text))  # complete words only
        limit = self.first_chunk_words if self._count == 0 else self.max_words
        if self._count == 0:
            for match in _CLAUSE_END.finditer(text):
                if len(text[: match.start()].split()) >= self.clause_min_words:
                    return match.end()
        if len(words) >= limit:
            if self._count > 0:
                # prefer the last clause boundary inside the long sentence
                clauses = [m.end() for m in _CLAUSE_END.finditer(text) if len(text[: m.start()].split()) >= self.clause_min_words]
                if clauses:
                    return clauses[-1]
            return words[limit - 1].end()
        return None
