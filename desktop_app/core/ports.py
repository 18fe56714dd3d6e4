"""The interfaces the engine uses; backends implement them (dependencies point inward).

Speech recognition (16 kHz mono float32 in, text out), chat models (OpenAI-style
messages in, streamed text out) and speech synthesis (text in, 20 ms 48 kHz Opus
packets out). ``desktop_app.backends.*.base`` re-export these names for the backends.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, AsyncIterator, Protocol

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


Message = dict[str, Any]  # {"role": ..., "content": str | [parts]} (OpenAI chat format)


class ChatModel(ABC):
    name: str = "llm"
    vision: bool = False  # accepts image parts in user messages
    # Generates on this machine: a reply started and dropped costs only CPU, not a
    # remote service's tokens (see core.prepared_reply).
    runs_locally: bool = False

    @abstractmethod
    async def load(self) -> None:
        """Load and warm the model so the first turn does not pay for it."""

    @abstractmethod
    def stream(self, messages: list[Message]) -> AsyncIterator[str]:
        """Yield reply text deltas. Closing the iterator stops generation."""

    async def prime(self, messages: list[Message]) -> None:
        """Evaluate a prompt ahead of time (the user is still talking). Optional."""
        return None

    def hold(self, held: bool) -> None:
        """Pause (True) or resume (False) generation between tokens, to give the CPU to
        the first sentence's speech synthesis. Optional: remote models ignore it."""
        return None

    async def aclose(self) -> None:
        return None


class SpeechSynthesizer(ABC):
    name: str = "tts"
    runs_locally: bool = False  # synthesizes on this machine's CPU (shares it with the LLM)

    @abstractmethod
    async def load(self) -> None:
        """Load and warm the voice."""

    @abstractmethod
    def synthesize(self, text: str) -> AsyncIterator[bytes]:
        """Yield Opus packets (48 kHz) for ``text`` as soon as each is ready."""

    async def aclose(self) -> None:
        return None


class TextReader(ABC):
    """Reads the text in a picture (OCR): what a model that cannot see images is told of
    the user's camera or screen."""

    name: str = "ocr"

    @abstractmethod
    async def load(self) -> None:
        """Load the model so the first reading does not pay for it."""

    @abstractmethod
    async def read(self, jpeg: bytes) -> str:
        """The text in the picture, one line per line of text; "" when there is none."""

    async def aclose(self) -> None:
        return None


class VadStream(Protocol):
    """A live voice-activity model: one window of 16 kHz audio per call, state kept between."""

    def reset(self) -> None: ...

    def probability(self, window: np.ndarray) -> float: ...


class VoiceActivity(ABC):
    """Where the speech is: in a clip (the live transcript's phrases), and live, one
    ``window`` of samples at a time (hands-free's turn detection)."""

    window: int = 512  # samples per live window (32 ms at 16 kHz)

    @abstractmethod
    def speech_regions(self, pcm: np.ndarray, pause_ms: int) -> list[dict[str, int]]:
        """Speech regions as ``{"start", "end"}`` sample offsets; a region closes after
        ``pause_ms`` of silence, and one still open ends at ``len(pcm)``. Blocking."""

    @abstractmethod
    def stream(self) -> VadStream:
        """A new live model with its own state."""
