"""Spoken questions for the benchmark: synthesized once with Piper and cached."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.media.audio_file import load_audio

# Short-answer questions: the baseline (sequential) pipeline waits for the whole reply,
# so open-ended questions would only make it look worse.
QUESTIONS = (
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What color is the sky on a clear day?",
    "Who wrote Romeo and Juliet?",
    "What is two plus two?",
    "Name a fruit that is yellow.",
    "At what temperature does water boil?",
    "How many days are there in a week?",
    "What language do people speak in Brazil?",
    "What is the largest planet in our solar system?",
)

TRAILING_SILENCE_S = 0.3  # a user lets go of the talk key a moment after the last word
LEADING_SILENCE_S = 0.3


def question_clips(cache_dir: Path, wavs: list[str] | None = None, release_after_s: float | None = None) -> list[tuple[str, np.ndarray]]:
    """(label, 16 kHz mono float32) for each given WAV, or for the built-in questions,
    which end ``release_after_s`` (default :data:`TRAILING_SILENCE_S`) after the last word."""
    if wavs:
        return [(Path(w).name, load_audio(w)) for w in wavs]
    clips = []
    for question in QUESTIONS:
        path = question_wav(cache_dir, question)
        if not path.exists():
            from desktop_app.backends.tts.piper_local import write_seeded_wav

            path.parent.mkdir(parents=True, exist_ok=True)
            write_seeded_wav(path, question, LEADING_SILENCE_S, TRAILING_SILENCE_S)
        clips.append((question, _release_after(load_audio(path), release_after_s)))
    return clips


def _release_after(pcm: np.ndarray, seconds: float | None) -> np.ndarray:
    if seconds is None:
        return pcm
    rate = SAMPLE_RATE  # load_audio's
    speech_end = pcm.size - int(rate * TRAILING_SILENCE_S)
    return np.concatenate([pcm[:speech_end], np.zeros(int(rate * max(0.0, seconds)), dtype=np.float32)])


def question_wav(cache_dir: Path, question: str) -> Path:
    """Where the question's WAV is cached (22.05 kHz, with its silences), made by
    :func:`question_clips`. Seeded: the same audio on every machine (``seeded_voice``)."""
    return cache_dir / "bench-questions-seeded" / (re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-") + ".wav")
