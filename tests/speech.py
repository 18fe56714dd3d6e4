"""Speech for tests, synthesized here: Piper (the app's own voice) and espeak-ng."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from desktop_app.backends.tts.piper_local import write_seeded_wav
from desktop_app.media.audio_file import load_audio

CACHE = Path(tempfile.gettempdir()) / "aiwebcam-test-speech"


def piper_wav(text: str, lead_silence_s: float = 0.3, tail_silence_s: float = 0.3) -> Path:
    """A WAV file (22.05 kHz) of Piper saying ``text``, the same every time, cached across tests."""
    CACHE.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
    path = CACHE / f"piper-seeded-{name}-{lead_silence_s}-{tail_silence_s}.wav"
    if not path.exists():
        write_seeded_wav(path, text, lead_silence_s, tail_silence_s)
    return path


def espeak_wav(text: str) -> Path:
    """A WAV file of espeak-ng saying ``text`` (a different voice than the app's)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed: run the README's test command (it installs it)")
    CACHE.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
    path = CACHE / f"espeak-{name}.wav"
    if not path.exists():
        subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    return path


def speech_pcm(text: str) -> np.ndarray:
    """16 kHz mono float32 of Piper saying ``text``."""
    return load_audio(piper_wav(text))


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return jiwer.wer(" ".join(words(reference)), " ".join(words(hypothesis)) or "<empty>")


VOICES = ("piper", "espeak")


def voice_speech(text: str, voice: str, level: float = 0.01) -> np.ndarray:
    """16 kHz mono float32 of ``voice`` ("piper" or "espeak") saying ``text``, from its
    first to its last sample above ``level`` (no silence around it)."""
    path = piper_wav(text, 0.0, 0.0) if voice == "piper" else espeak_wav(text)
    pcm = load_audio(path)
    loud = np.nonzero(np.abs(pcm) > level)[0]
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def with_lead(speech: np.ndarray, lead_s: float, tail_s: float = 0.3) -> np.ndarray:
    """``speech`` after ``lead_s`` of silence and before ``tail_s`` of it (16 kHz)."""
    lead = np.zeros(int(round(16000 * lead_s)), dtype=np.float32)
    tail = np.zeros(int(round(16000 * tail_s)), dtype=np.float32)
    return np.concatenate([lead, speech, tail]).astype(np.float32)


def first_word_kept(reference: str, hypothesis: str) -> bool:
    return words(hypothesis)[:1] == words(reference)[:1]
