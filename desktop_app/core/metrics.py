"""Per-turn latency figures, in milliseconds."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass


def now_ms() -> float:
    return time.perf_counter() * 1000.0


@dataclass
class TurnMetrics:
    asr_ms: float | None = None  # transcription time after the end of speech
    view_wait_ms: float | None = None  # after the transcript, waiting for the frame's text (OCR)
    llm_ttft_ms: float | None = None  # LLM request -> first token
    first_chunk_ms: float | None = None  # LLM request -> first speakable chunk
    tts_first_audio_ms: float | None = None  # first chunk -> its first audio packet
    v2v_ms: float | None = None  # end of speech (or text submitted) -> first audio packet
    # the reply was started this long before the LLM request, at the user's pause
    # (core.prepared_reply); None: started at the request
    reply_prepared_ms: float | None = None
    llm_tokens: int = 0
    llm_ms: float | None = None  # LLM request -> last token
    audio_ms: float = 0.0  # length of the spoken reply

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in asdict(self).items()}

    def summary(self) -> str:
        parts = []
        for label, value in (
            ("ASR", self.asr_ms),
            ("text in view", self.view_wait_ms if self.view_wait_ms and self.view_wait_ms >= 1 else None),
            ("first token", self.llm_ttft_ms),
            ("first chunk", self.first_chunk_ms),
            ("TTS", self.tts_first_audio_ms),
            ("voice-to-voice", self.v2v_ms),
        ):
            if value is not None:
                parts.append(f"{label} {value:.0f} ms")
        if self.reply_prepared_ms is not None:  # else "first token 3 ms" reads as a mistake
            parts.insert(0, f"reply begun at the pause, {self.reply_prepared_ms:.0f} ms early")
        return ", ".join(parts)
