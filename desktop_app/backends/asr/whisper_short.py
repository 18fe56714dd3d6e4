"""Whisper on short clips without the 30-second padding.

faster-whisper pads every clip's features to 30 s, so the encoder costs the same for a
two-word question as for a full window (about 350 ms for tiny.en int8 on 2 cores).
Whisper's encoder also accepts a shorter window (whisper.cpp's ``audio_ctx``). The
window here is 0.3 s of silence, the speech, half a second of silence, then padding up
to 15 s: a whole transcription of a push-to-talk question takes ~200 ms instead of
~420 ms (2 cores). Clips longer than 20 s go through faster-whisper's own path.

Where the speech starts matters (issue 11, measured with ``benchmarks/asr_leads.py``):

* Speech in the first ~0.2 s of the window loses or garbles its first word ("Paris is"
  heard as "Here is", "Carises"). The VAD trim leaves at most ``speech_pad_ms`` (200 ms)
  before the speech, less by Silero's late onset (20-80 ms), and nothing when the clip
  itself starts with speech, so every clip used to start in that zone. A fixed 0.3 s
  of silence (``LEAD_SILENCE_S``) goes before the trimmed speech now: 0.2-0.3 s were
  best, 0.5 s worse again.
* The padding after the half second of silence is zeros in log-mel space, as
  faster-whisper's ``pad_or_trim`` does (not the log-mel of silent samples, which is
  8 decades below the clip's peak): with it the 15 s window matched or beat the 30 s path's
  word error on both test voices; with silent samples every window from 10 to 30 s
  was worse on the espeak-ng voice ("capital and friends").
* Windows under ~15 s with that padding make the decoder repeat the sentence ("turn on
  the kitchen lights turn on my kitchen lights" in 8 of 352 clips at 12 s, 1 at 15 s);
  the repetition check below catches what is left.

Run-on guard: the shortened window sometimes lets the decoder run on past the speech
("What is the capital of Italy? What is capital of Diddly?" for a 2.4 s question, where
faster-whisper's 30 s path was right). Decoding with timestamp tokens closes the segment
and stops there, but on single sentences it is not better (it heard "capital of
friends" where the plain decode heard "France"). So the plain decode runs first; only
when it gives more than one sentence is the same encoder output decoded again with
timestamps, and when that is a shorter prefix of the words, the rest was a run-on and is
dropped. Segments that start after the speech ended are dropped as well. A plain decode
that says its first two words again ("Tell me a joke about computers tell me about
computers") is checked the same way.
"""

from __future__ import annotations

import re

import numpy as np

from desktop_app.core.ports import SAMPLE_RATE

HOP = 160  # samples per mel frame
MAX_SHORT_SECONDS = 20.0
LEAD_SILENCE_S = 0.3  # before the speech: Whisper garbles a first word at the window's start
TAIL_SILENCE_S = 0.5
MIN_FRAMES = 1500  # 15 s; shorter windows make the decoder repeat itself (measured)


def transcribe_short(model, speech: np.ndarray, language: str | None) -> tuple[str, str]:
    """Greedy transcription of ``speech`` (<= 20 s, VAD-trimmed). Returns (text, language)."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    lead = np.zeros(int(SAMPLE_RATE * LEAD_SILENCE_S), dtype=np.float32)
    tail = np.zeros(int(SAMPLE_RATE * TAIL_SILENCE_S), dtype=np.float32)
    features = model.feature_extractor(np.concatenate([lead, speech, tail]))[:, :-1]
    frames = min(3000, max(MIN_FRAMES, features.shape[-1]))
    frames -= frames % 2  # the encoder halves the frame count
    features = np.pad(features[:, :frames], ((0, 0), (0, frames - min(frames, features.shape[-1]))))
    features = np.ascontiguousarray(features[None], dtype=np.float32)
    encoded = model.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
    multilingual = model.model.is_multilingual
    if multilingual and not language:
        language = model.model.detect_language(encoded)[0][0][0].strip("<|>")
    tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe", language=language or "en")
    speech_s = speech.size / SAMPLE_RATE
    text = _decode(model, encoded, tokenizer, speech_s, timestamps=False)
    if _sentences(text) > 1 or _repeats_its_start(text):  # maybe a run-on: see the module docstring
        stamped = _decode(model, encoded, tokenizer, speech_s, timestamps=True)
        if _is_shorter_prefix(stamped, text):
            text = stamped
    return text, language or "en"


def _decode(model, encoded, tokenizer, speech_s: float, timestamps: bool) -> str:
    """Greedy decode; timestamps in the window count from its start (after the lead)."""
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
    return tokenizer.decode(spoken_tokens(result.sequences_ids[0], tokenizer, LEAD_SILENCE_S + speech_s)).strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _sentences(text: str) -> int:
    return len([part for part in re.split(r"[.?!]+", text) if part.strip()])


def _repeats_its_start(text: str, n: int = 2) -> bool:
    """The first ``n`` words come again later: the decoder may have started over."""
    w = _words(text)
    return len(w) > 2 * n and any(w[i : i + n] == w[:n] for i in range(1, len(w) - n + 1))


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
