"""Speech synthesis interface: text in, 20 ms 48 kHz Opus packets out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import AsyncIterator


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
