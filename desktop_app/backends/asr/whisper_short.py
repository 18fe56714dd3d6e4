"""Whisper on short clips without the 30-second padding.

faster-whisper pads every clip's features to 30 s, so the encoder costs the same for a
two-word question as for a full window (about 350 ms for tiny.en int8 on 2 cores).
Whisper's encoder also accepts a shorter window (whisper.cpp's ``audio_ctx``). A 10 s
window (the speech, half a second of silence, then silence up to 10 s) cuts a whole
transcription of a push-to-talk question from ~470 ms to ~170 ms with the same word
error rate; windows under ~10 s make the decoder repeat itself. Clips longer than 20 s
go through faster-whisper's own path.

Decoding runs with timestamp tokens. Without them the shortened window sometimes lets
the decoder run on past the speech ("What is the capital of Italy? What is capital of
Diddly?" for a 2.4 s question, where faster-whisper's 30 s path was right); with them
it closes the segment and stops. Any segment that starts after the speech ended is
dropped all the same.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
HOP = 160  # samples per mel frame
MAX_SHORT_SECONDS = 20.0
TAIL_SILENCE_S = 0.5
MIN_FRAMES = 1000  # a window under ~10 s makes the decoder repeat itself (measured)


def transcribe_short(model, speech: np.ndarray, language: str | None) -> tuple[str, str]:
    """Greedy transcription of ``speech`` (<= 20 s, VAD-trimmed). Returns (text, language)."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    padded = np.concatenate([speech, np.zeros(int(SAMPLE_RATE * TAIL_SILENCE_S), dtype=np.float32)])
    if padded.size < MIN_FRAMES * HOP:
        padded = np.concatenate([padded, np.zeros(MIN_FRAMES * HOP - padded.size, dtype=np.float32)])
    features = model.feature_extractor(padded)
    frames = min(3000, (features.shape[-1] // 2) * 2)  # the encoder halves the frame count
    features = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
    multilingual = model.model.is_multilingual
    if multilingual and not language:
        language = model.model.detect_language(encoded)[0][0][0].strip("<|>")
    tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language or "en")
    prompt = list(tokenizer.sot_sequence)  # timestamps on: see the module docstring
    max_tokens = int(min(224, 16 + speech.size / SAMPLE_RATE * 8))  # ~4 words/s, generous
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=1,
        max_length=len(prompt) + max_tokens,
        suppress_blank=True,
        suppress_tokens=[-1] + list(tokenizer.non_speech_tokens),
        no_repeat_ngram_size=3,
    )[0]
    return tokenizer.decode(spoken_tokens(result.sequences_ids[0], tokenizer, speech.size / SAMPLE_RATE)).strip(), language or "en"


def spoken_tokens(tokens: list[int], tokenizer, speech_s: float) -> list[int]:
    """Text tokens of the segments that start while there is speech (timestamps removed)."""
    kept: list[int] = []
    segment_start = 0.0
    for token in tokens:
        if token >= tokenizer.timestamp_begin:
            segment_start = (token - tokenizer.timestamp_begin) * 0.02
        elif token < tokenizer.eot and segment_start < speech_s:
            kept.append(token)
    return kept
