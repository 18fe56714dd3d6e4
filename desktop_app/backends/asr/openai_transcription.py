"""Server-side ASR through an OpenAI-compatible ``/audio/transcriptions`` endpoint.

The local Silero VAD runs first, so silence is never sent and never transcribed.
"""

from __future__ import annotations

import io

import numpy as np
import openai

from desktop_app.backends.asr.base import SAMPLE_RATE, SpeechRecognizer, Transcription
from desktop_app.backends.asr.vad import speech_only
from desktop_app.backends.openai_client import make_client
from desktop_app.backends.openai_errors import endpoint_error
from desktop_app.core.threads import ModelThread
from desktop_app.media.audio_file import write_wav


class OpenAITranscriber(SpeechRecognizer):
    def __init__(self, base_url: str, api_key: str, model: str = "whisper-1", language: str = "") -> None:
        self.name = f"openai {model}"
        self._base_url = base_url
        self._api_key = api_key
        self._model = model
        self._language = language
        self._client = make_client(base_url, api_key)
        self._vad = ModelThread("vad")

    async def load(self) -> None:
        await self._vad.run(speech_only, np.zeros(SAMPLE_RATE // 10, dtype=np.float32))

    async def transcribe(self, pcm: np.ndarray) -> Transcription:
        audio_ms = pcm.size * 1000.0 / SAMPLE_RATE
        speech = await self._vad.run(speech_only, np.asarray(pcm, dtype=np.float32))
        if speech.size == 0:
            return Transcription("", None, audio_ms, 0.0)
        buf = io.BytesIO()
        write_wav(buf, speech, SAMPLE_RATE)
        kwargs = {"language": self._language} if self._language else {}
        try:
            result = await self._client.audio.transcriptions.create(
                model=self._model, file=("speech.wav", buf.getvalue(), "audio/wav"), **kwargs
            )
        except openai.OpenAIError as exc:
            raise endpoint_error(exc, "transcription", self._base_url, self._api_key) from None
        text = getattr(result, "text", "") or ""
        return Transcription(text.strip(), self._language or None, audio_ms, speech.size * 1000.0 / SAMPLE_RATE)

    async def aclose(self) -> None:
        await self._client.close()
        self._vad.shutdown()
