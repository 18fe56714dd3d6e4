"""Whisper on short clips without the 30-second padding.

faster-whisper pads every clip's features to 30 s, so the encoder costs the same for a
two-word question as for a full window (about 350 ms for tiny.en int8 on 2 cores).
Whisper's encoder also accepts a shorter window (whisper.cpp's ``audio_ctx``). A 10 s
window (the speech, half a second of silence, then silence up to 10 s) cuts a whole
transcription of a push-to-talk question from ~470 ms to ~170 ms with the same word
error rate; windows under ~10 s make the decoder repeat itself. Clips longer than 20 s
go through faster-whisper's own path.

Run-on guard: the shortened window sometimes lets the decoder run on past the speech
("What is the capital of Italy? What is capital of Diddly?" for a 2.4 s question, where
faster-whisper's 30 s path was right). Decoding with timestamp tokens closes the segment
and stops there, but on single sentences it is not better (it heard "capital of
friends" where the plain decode heard "France"). So the plain decode runs first; only
when it gives more than one sentence is the same encoder output decoded again with
timestamps, and when that is a shorter prefix of the words, the rest was a run-on and is
dropped. Segments that start after the speech ended are dropped as well.
"""

from __future__ import annotations

import re

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
    speech_s = speech.size / SAMPLE_RATE
    text = _decode(model, encoded, tokenizer, speech_s, timestamps=False)
    if _sentences(text) > 1:  # maybe a run-on: see the module docstring
        stamped = _decode(model, encoded, tokenizer, speech_s, timestamps=True)
        if _is_shorter_prefix(stamped, text):
            text = stamped
    return text, language or "en"


def _decode(model, encoded, tokenizer, speech_s: float, timestamps: bool) -> str:
    prompt = list(tokenizer.sot_sequence) + ([] if timestamps else [tokenizer.no_timestamps])
    max_tokens = int(min(224, 16 + speech_s * 8))  # ~4 words/s, generous
    result = model.model.generate(
        encoded,
        [prompt],
        beam_size=1,
        max_length=len(prompt) + max_tokens,
        suppress_blank=True,
        suppress_tokens=[-1] + list(tokenizer.non_speech_tokens),
        no_repeat_ngram_size=3,
    )[0]
    return tokenizer.decode(spoken_tokens(result.sequences_ids[0], tokenizer, speech_s)).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _sentences(text: str) -> int:
    return len([part for part in re.split(r"[.?!]+", text) if part.strip()])


def _is_shorter_prefix(short: str, long: str) -> bool:
    a, b = _words(short), _words(long)
    return 0 < len(a) < len(b) and b[: len(a)] == a


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
