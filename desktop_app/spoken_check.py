"""The spoken check both self-checks run (``aiwebcam --self-test`` and the device check):
the recorded question, how close its transcript must be, and the app's own models."""

from __future__ import annotations

import dataclasses
import re
import sys
from pathlib import Path

from desktop_app.bundled_models import bundled_llm
from desktop_app.errors import AppError

QUESTION_TEXT = "What is the capital of France?"
QUESTION_FILE = "self_test_question.wav"
SPOKEN_CHECK = "The weather is nice today, so we can take a walk in the park."
MAX_WORD_ERROR = 0.34  # at most 2 of the 6 words wrong


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def resource_dirs() -> list[Path]:
    """Where the app's ``resources/`` folder may be: the bundle, then the source checkout."""
    dirs = []
    if is_frozen():
        dirs.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources")
    dirs.append(Path(__file__).resolve().parents[1] / "resources")
    return dirs


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance / reference words, case and punctuation ignored."""

    def words(text: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()

    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


class QuestionMissing(AppError):
    """The recorded question is not where the app's resources are (a broken install)."""


def find_question() -> Path:
    for folder in resource_dirs():
        path = folder / QUESTION_FILE
        if path.is_file():
            return path
    raise QuestionMissing(f"{QUESTION_FILE} not found in {', '.join(str(d) for d in resource_dirs())}")


def offline_settings(settings):
    """The settings with the app's own models (embedded Whisper, llama.cpp, Piper): no service, no key.

    Also used by the device check's spoken turn (``desktop_app.device_check.turn``).
    """
    # Always the embedded models: a self-test must not depend on a service or a key.
    return dataclasses.replace(
        settings,
        llm_provider="embedded",
        llm_model=_embedded_llm(settings.llm_model),
        asr_provider="embedded",
        asr_model="tiny.en",
        asr_language="",
        tts_provider="piper",
        tts_voice=settings.tts_voice if settings.tts_provider == "piper" else "",
        llm_temperature=0.0,
        llm_max_tokens=64,
    )


def _embedded_llm(name: str) -> str:
    """The configured model when it is an embedded one, else the default (Qwen)."""
    if bundled_llm(name) is not None or name.lower().endswith(".gguf"):
        return name
    return ""
