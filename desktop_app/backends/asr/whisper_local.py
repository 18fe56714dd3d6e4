"""faster-whisper in-process, with Silero VAD trimming (no speech: no words)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from desktop_app.backends.asr.base import SAMPLE_RATE, SpeechRecognizer, Transcription
from desktop_app.backends.asr.vad import speech_only
from desktop_app.backends.asr.whisper_short import MAX_SHORT_SECONDS, transcribe_short
from desktop_app.bundled_models import WHISPER_BUNDLED, Progress, whisper_model_dir
from desktop_app.core.threads import ModelThread
from desktop_app.errors import ModelNotFoundError


class WhisperRecognizer(SpeechRecognizer):
    def __init__(
        self,
        model: str = "tiny.en",
        cache_dir: Path | None = None,
        language: str = "",
        threads: int = 0,
        beam_size: int = 1,
        progress: Progress | None = None,
    ) -> None:
        self.name = f"whisper {model}"
        self._model_name = model
        self._cache_dir = cache_dir or Path.home() / ".cache" / "aiwebcam" / "models"
        self._language = language or ("en" if model.endswith(".en") else None)
        self._threads = threads or (os.cpu_count() or 2)
        self._beam_size = beam_size
        self._progress = progress
        self._model = None
        self._thread = ModelThread("asr")

    async def load(self) -> None:
        if self._model is None:
            self._model = await self._thread.run(self._load_blocking)

    def _load_blocking(self):
        from faster_whisper import WhisperModel

        name = self._model_name
        path = whisper_model_dir(name, self._cache_dir, self._progress)
        if path is None and Path(name).expanduser().is_dir():
            path = str(Path(name).expanduser())
        model = self._open(WhisperModel, name, path)
        # Warm-up: the VAD session and the first decode are slower than the rest.
        speech_only(np.zeros(SAMPLE_RATE, dtype=np.float32))
        transcribe_short(model, np.zeros(SAMPLE_RATE, dtype=np.float32), self._language or "en")
        return model

    def _open(self, WhisperModel, name: str, path: str | None):
        kwargs = dict(device="cpu", compute_type="int8", cpu_threads=self._threads)
        if path is not None:
            return WhisperModel(path, **kwargs)
        try:
            return WhisperModel(name, local_files_only=True, **kwargs)
        except Exception:
            pass
        try:
            return WhisperModel(name, **kwargs)
        except Exception as exc:
            raise ModelNotFoundError(
                f"Whisper model {name!r} is not installed and could not be downloaded "
                f"({type(exc).__name__}); bundled choices work offline: {', '.join(WHISPER_BUNDLED)}"
            ) from None

    async def transcribe(self, pcm: np.ndarray) -> Transcription:
        await self.load()
        return await self._thread.run(self._transcribe_blocking, pcm)

    def _transcribe_blocking(self, pcm: np.ndarray) -> Transcription:
        audio_ms = pcm.size * 1000.0 / SAMPLE_RATE
        speech = speech_only(np.asarray(pcm, dtype=np.float32))
        if speech.size == 0:
            return Transcription("", None, audio_ms, 0.0)
        if speech.size <= MAX_SHORT_SECONDS * SAMPLE_RATE:
            text, language = transcribe_short(self._model, speech, self._language)
            return Transcription(text, language, audio_ms, speech.size * 1000.0 / SAMPLE_RATE)
        segments, info = self._model.transcribe(
            speech,
            language=self._language,
            beam_size=self._beam_size,
            condition_on_previous_text=False,
            without_timestamps=True,
            vad_filter=False,  # already trimmed above
        )
        text = " ".join(seg.text.strip() for seg in segments if seg.text.strip())
        return Transcription(text.strip(), info.language, audio_ms, speech.size * 1000.0 / SAMPLE_RATE)

    async def aclose(self) -> None:
        self._thread.shutdown()
