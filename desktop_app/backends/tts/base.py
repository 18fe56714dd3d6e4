"""Speech synthesis interface: defined by the engine (``core.ports``), implemented here."""

from desktop_app.core.ports import SpeechSynthesizer

__all__ = ["SpeechSynthesizer"]
