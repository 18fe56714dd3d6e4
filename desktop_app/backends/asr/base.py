"""Speech recognition interface."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000  # ASR input: mono float32 at 16 kHz


@dataclass(frozen=True)
class Transcription:
    text: str  # "" when the audio held no speech
    language: str | None
    audio_ms: float
    speech_ms: float  # how much of the audio the VAD kept


class SpeechRecognizer(ABC):
    """Turns 16 kHz mono float32 PCM into text."""

    name: str = "asr"

    @abstractmethod
    async def load(self) -> None:
        """Load the model (once) so the first turn does not pay for it."""

    @abstractmethod
    async def transcribe(self, pcm: np.ndarray) -> Transcription: ...

    async def aclose(self) -> None:
        return None
