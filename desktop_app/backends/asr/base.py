"""Speech recognition interface: defined by the engine (``core.ports``), implemented here."""

from desktop_app.core.ports import SAMPLE_RATE, SpeechRecognizer, Transcription

__all__ = ["SAMPLE_RATE", "SpeechRecognizer", "Transcription"]
