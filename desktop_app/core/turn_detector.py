"""Streaming turn detection: Silero VAD on live 16 kHz mono microphone audio.

The voice-activity model (a :class:`~desktop_app.core.ports.VoiceActivity`; the app's is
Silero, see ``backends.asr.vad``) runs incrementally, one 512-sample (32 ms) window at a
time, keeping its state between calls. One window costs about 0.4 ms on one core
(measured on a 2-core machine: 1 % of real time), so it runs inline in
:meth:`TurnDetector.feed`, with no worker thread.

Decisions (hysteresis as in Silero's own iterator: speech above ``threshold``, silence
below ``threshold - 0.15``):

* :class:`SpeechStarted` once ``min_speech_ms`` (default 250 ms) of speech have been
  heard without a silence of ``reset_ms`` in between: coughs, clicks and knocks do not
  start a turn. It carries the audio from ``pre_roll_ms`` (default 300 ms) before the
  first speech window up to the decision, so the first syllable is never lost. Faint or
  short voiced windows just before (probability above ``onset_threshold``, gaps under
  ``join_ms``, at most ``lookback_ms`` back) belong to the turn too: "Wait, ... stop,
  what about..." starts at "Wait" even when each word alone was too short, or was damped
  by echo cancellation during double talk.
* :class:`SpeechEnded` after ``pause_ms`` (default 600 ms) of silence; shorter pauses do
  not split the turn. The owner may shorten the pause for the speech in progress
  (:meth:`TurnDetector.set_pause_ms`): hands-free does when the live transcript already
  sounds finished (``core.end_of_turn``).

Positions are absolute sample counts of the stream fed so far; :meth:`audio_since`
returns any recent part of it (the controller uses it to hand live audio on).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

from desktop_app.core.metrics import now_ms
from desktop_app.core.ports import SAMPLE_RATE, VoiceActivity

WINDOW = VoiceActivity.window  # samples per decision (32 ms)


@dataclass(frozen=True)
class TurnDetectorConfig:
    threshold: float = 0.5  # speech probability that counts as speech
    min_speech_ms: int = 250  # speech needed before a turn starts (coughs are shorter)
    pause_ms: int = 600  # silence that ends a turn
    pre_roll_ms: int = 300  # audio kept from before the first speech window
    reset_ms: int = 300  # silence that drops a not-yet-started speech candidate (250 ms of
    # speech must come with no gap longer than this: words damped by double talk still count)
    onset_threshold: float = 0.2  # faint speech that may begin a turn (never starts one)
    join_ms: int = 500  # largest gap between such windows and the turn
    lookback_ms: int = 1500  # how far back before the confirmed speech the onset may lie
    history_ms: int = 10_000  # recent audio kept for audio_since()

    @property
    def neg_threshold(self) -> float:
        return max(self.threshold - 0.15, 0.01)


@dataclass(frozen=True)
class SpeechStarted:
    start_sample: int  # first sample of the turn's first voiced window (see onset_threshold)
    decided_sample: int  # stream position when the decision was made
    audio: np.ndarray  # pre-roll + speech so far: samples [start - pre_roll, decided)
    decided_at_ms: float  # clock reading at the decision (perf-counter ms)

    @property
    def audio_start_sample(self) -> int:
        return self.decided_sample - self.audio.size


@dataclass(frozen=True)
class SpeechEnded:
    start_sample: int
    end_sample: int  # end of the last speech window
    decided_sample: int  # end_sample + the pause
    decided_at_ms: float
    end_of_speech_ms: float  # clock estimate of when the user stopped talking

    @property
    def speech_ms(self) -> float:
        return (self.end_sample - self.start_sample) * 1000.0 / SAMPLE_RATE


TurnEvent = Union[SpeechStarted, SpeechEnded]


class _History:
    """The last ``capacity`` samples of the stream, addressed by absolute position."""

    def __init__(self, capacity: int) -> None:
        self._buffer = np.zeros(capacity, dtype=np.float32)
        self.end = 0  # absolute position after the newest sample

    @property
    def start(self) -> int:
        return max(0, self.end - self._buffer.size)

    def append(self, pcm: np.ndarray) -> None:
        size = self._buffer.size
        if pcm.size >= size:
            self._buffer[:] = pcm[-size:]
        else:
            self._buffer = np.roll(self._buffer, -pcm.size)
            self._buffer[-pcm.size :] = pcm
        self.end += pcm.size

    def slice(self, begin: int, end: int) -> np.ndarray:
        begin = max(begin, self.start)
        end = min(end, self.end)
        if end <= begin:
            return np.zeros(0, dtype=np.float32)
        offset = self._buffer.size - (self.end - begin)
        return self._buffer[offset : offset + (end - begin)].copy()


class TurnDetector:
    """Feed microphone audio (16 kHz mono float32, any block size); get turn events back."""

    def __init__(self, vad: VoiceActivity, config: TurnDetectorConfig = TurnDetectorConfig(), clock: Callable[[], float] = now_ms) -> None:
        self.config = config
        self._clock = clock
        self._vad = vad.stream()
        self._history = _History(SAMPLE_RATE * config.history_ms // 1000)
        self._pending = np.zeros(0, dtype=np.float32)
        self._vad_pos = 0  # absolute position of the next window
        self._candidate: int | None = None  # start of speech not yet confirmed
        self._candidate_speech = 0
        self._voiced: list[int] = []  # starts of recent windows above onset_threshold
        self._silence = 0
        self._speaking = False
        self._start = 0
        self._last_speech_end = 0
        self._pause_override: int | None = None  # samples; None: config.pause_ms
        self._min_speech: int | None = None  # samples; None: config.min_speech_ms
        self.probability = 0.0  # of the latest window (for a meter or a debug view)

    # ---- state ----------------------------------------------------------------------

    @property
    def speaking(self) -> bool:
        """Between a SpeechStarted and its SpeechEnded."""
        return self._speaking

    @property
    def position(self) -> int:
        """Samples received so far (the stream's end)."""
        return self._history.end

    @property
    def last_speech_end(self) -> int:
        """End of the latest speech window of the current (or last) turn."""
        return self._last_speech_end

    @property
    def silence_ms(self) -> float:
        """Silence since the speech in progress last sounded (0 while it does)."""
        return self._silence * 1000.0 / SAMPLE_RATE if self._speaking else 0.0

    def set_pause_ms(self, pause_ms: int | None) -> None:
        """The pause that ends the speech in progress (None: ``config.pause_ms``).

        Never longer than the configured pause; forgotten when the next speech starts.
        """
        self._pause_override = None if pause_ms is None else _samples(min(pause_ms, self.config.pause_ms))

    def set_min_speech_ms(self, min_speech_ms: int | None) -> None:
        """The speech needed before speech starts (None: ``config.min_speech_ms``); kept
        until set again. Hands-free asks for more while the assistant talks."""
        self._min_speech = None if min_speech_ms is None else _samples(min_speech_ms)

    def audio_since(self, position: int, end: int | None = None) -> np.ndarray:
        """Recent stream audio from ``position`` (absolute) to ``end`` (default: now)."""
        return self._history.slice(position, self._history.end if end is None else end)

    def reset(self) -> None:
        """Forget any speech in progress (the stream itself goes on)."""
        self._candidate = None
        self._candidate_speech = self._silence = 0
        self._voiced.clear()
        self._speaking = False
        self._vad.reset()

    # ---- input ----------------------------------------------------------------------

    def feed(self, pcm: np.ndarray) -> list[TurnEvent]:
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if pcm.size == 0:
            return []
        self._history.append(pcm)
        data = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        events: list[TurnEvent] = []
        whole = data.size // WINDOW * WINDOW
        for offset in range(0, whole, WINDOW):
            event = self._window(data[offset : offset + WINDOW])
            if event is not None:
                events.append(event)
        self._pending = data[whole:].copy()
        return events

    def _window(self, window: np.ndarray) -> TurnEvent | None:
        cfg = self.config
        p = self.probability = self._vad.probability(window)
        begin = self._vad_pos
        self._vad_pos += WINDOW
        end = self._vad_pos
        if not self._speaking:
            if p >= cfg.onset_threshold:
                self._voiced = [*self._voiced[-63:], begin]
            if p >= cfg.threshold:
                if self._candidate is None:
                    self._candidate, self._candidate_speech = begin, 0
                self._candidate_speech += WINDOW
                self._silence = 0
            elif self._candidate is not None:
                if p < cfg.neg_threshold:
                    self._silence += WINDOW
                    if self._silence >= _samples(cfg.reset_ms):
                        self._candidate = None
                        self._candidate_speech = self._silence = 0
                else:
                    self._candidate_speech += WINDOW  # wavering but still voiced
                    self._silence = 0
            needed = _samples(cfg.min_speech_ms) if self._min_speech is None else self._min_speech
            if self._candidate is not None and self._candidate_speech >= needed:
                self._speaking = True
                self._start = self._joined_start(self._candidate)
                self._last_speech_end = end
                self._candidate = None
                self._voiced.clear()
                self._silence = 0
                self._pause_override = None
                audio = self._history.slice(self._start - _samples(cfg.pre_roll_ms), end)
                return SpeechStarted(self._start, end, audio, self._clock())
            return None
        if p >= cfg.neg_threshold:
            self._silence = 0
            self._last_speech_end = end
            return None
        self._silence += WINDOW
        pause = _samples(cfg.pause_ms) if self._pause_override is None else self._pause_override
        if self._silence < pause:
            return None
        self._speaking = False
        self._silence = 0
        self._pause_override = None
        decided_at = self._clock()
        lag_ms = (self._history.end - self._last_speech_end) * 1000.0 / SAMPLE_RATE
        return SpeechEnded(self._start, self._last_speech_end, end, decided_at, decided_at - lag_ms)


    def _joined_start(self, confirmed: int) -> int:
        """Walk back over faint voiced windows just before: the turn's first words."""
        start = confirmed
        for window in reversed(self._voiced):
            if window >= start:
                continue
            if start - (window + WINDOW) > _samples(self.config.join_ms) or confirmed - window > _samples(self.config.lookback_ms):
                break
            start = window
        return start


def _samples(ms: int) -> int:
    return SAMPLE_RATE * ms // 1000
