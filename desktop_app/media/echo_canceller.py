"""Acoustic echo cancellation: the app's own voice removed from the microphone.

WebRTC's audio processing module (AEC3), as packaged by ``livekit`` (Apache-2.0, a
prebuilt native library; no network, no hub). The playback signal (the decoded reply
as it goes to the speaker) is the *reverse* stream; the microphone is the *near*
stream. Both are processed at 16 kHz in 10 ms frames.

Threads: :meth:`EchoCanceller.push_playback` may be called from the audio output
callback (it only appends to a queue under a lock); every call into the native module
happens in :meth:`EchoCanceller.process`, on the thread that handles the microphone.
Before each microphone frame, all playback that arrived since is given to the module
first, so the reference always leads its echo.

Guard window: AEC3 needs a moment to find the echo path's delay. When playback starts
after a pause, the cleaned microphone is muted for ``guard_ms`` (default 150 ms), so a
leak in that moment cannot look like the user speaking. Turn detection needs 250 ms of
speech to start a turn, so the guard never hides a whole word.
"""

from __future__ import annotations

import threading
from collections import deque

import av
import numpy as np
from livekit import rtc

RATE = 16000
FRAME = 160  # 10 ms at 16 kHz, the module's frame
_SILENT_RMS = 1e-4  # about -80 dBFS: below this a playback frame is silence
_MAX_REVERSE_FRAMES = 50  # playback burst handed over at once (500 ms); older is dropped


class EchoCanceller:
    def __init__(
        self,
        guard_ms: int = 150,
        idle_ms: int = 300,
        noise_suppression: bool = False,
        high_pass_filter: bool = True,
        auto_gain_control: bool = False,
        stream_delay_ms: int = 0,
    ) -> None:
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True,
            noise_suppression=noise_suppression,
            high_pass_filter=high_pass_filter,
            auto_gain_control=auto_gain_control,
        )
        self._guard = RATE * guard_ms // 1000
        self._idle = RATE * idle_ms // 1000
        self._delay_ms = stream_delay_ms
        self._lock = threading.Lock()
        self._incoming: deque[tuple[np.ndarray, int]] = deque()  # (pcm, rate) from playback
        self._resamplers: dict[int, av.AudioResampler] = {}
        self._reverse = np.zeros(0, dtype=np.int16)
        self._near = np.zeros(0, dtype=np.float32)
        self._quiet = self._idle  # playback samples of silence seen in a row
        self._guard_left = 0
        self.guard_windows = 0  # how many times the guard opened (for tests and logs)
        self.dropped_playback_ms = 0.0

    # ---- playback side (any thread) -------------------------------------------------

    def push_playback(self, pcm: np.ndarray, sample_rate: int = 48000) -> None:
        """Audio as it is played (float32 mono, any rate). Cheap: queued for process()."""
        block = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if block.size:
            with self._lock:
                self._incoming.append((block.copy(), sample_rate))

    # ---- microphone side --------------------------------------------------------------

    @property
    def guarding(self) -> bool:
        return self._guard_left > 0

    def process(self, pcm: np.ndarray) -> np.ndarray:
        """Microphone audio (16 kHz mono float32) in, echo-cancelled audio out.

        Works in whole 10 ms frames: a remainder waits for the next call, so the output
        of one call may be shorter or longer than its input by less than 10 ms.
        """
        block = np.asarray(pcm, dtype=np.float32).reshape(-1)
        near = np.concatenate([self._near, block]) if self._near.size else block
        whole = near.size // FRAME * FRAME
        self._near = near[whole:].copy()
        out = np.empty(whole, dtype=np.float32)
        self._take_playback()
        for offset in range(0, whole, FRAME):
            self._feed_reverse()
            frame = rtc.AudioFrame(_to_int16(near[offset : offset + FRAME]).tobytes(), RATE, 1, FRAME)
            self._apm.set_stream_delay_ms(self._delay_ms)
            self._apm.process_stream(frame)
            cleaned = np.frombuffer(bytes(frame.data), dtype=np.int16).astype(np.float32) / 32768.0
            if self._guard_left > 0:
                cleaned[:] = 0.0
                self._guard_left = max(0, self._guard_left - FRAME)
            out[offset : offset + FRAME] = cleaned
        return out

    def _take_playback(self) -> None:
        with self._lock:
            items = list(self._incoming)
            self._incoming.clear()
        parts = [self._reverse] if self._reverse.size else []
        for block, rate in items:
            parts.append(self._resample(block, rate))
        if parts:
            reverse = np.concatenate(parts)
            limit = _MAX_REVERSE_FRAMES * FRAME
            if reverse.size > limit:
                self.dropped_playback_ms += (reverse.size - limit) * 1000.0 / RATE
                reverse = reverse[-limit:]
            self._reverse = reverse

    def _feed_reverse(self) -> None:
        """Hand the module every whole playback frame that has arrived."""
        whole = self._reverse.size // FRAME * FRAME
        for offset in range(0, whole, FRAME):
            samples = self._reverse[offset : offset + FRAME]
            self._watch_start(samples)
            self._apm.process_reverse_stream(rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME))
        self._reverse = self._reverse[whole:]

    def _watch_start(self, samples: np.ndarray) -> None:
        rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64) / 32768.0))))
        if rms < _SILENT_RMS:
            self._quiet += samples.size
            return
        if self._quiet >= self._idle:  # playback (re)starts after a pause
            self._guard_left = self._guard
            self.guard_windows += 1
        self._quiet = 0

    def _resample(self, block: np.ndarray, rate: int) -> np.ndarray:
        pcm = _to_int16(block)
        if rate == RATE:
            return pcm
        resampler = self._resamplers.get(rate)
        if resampler is None:
            resampler = self._resamplers[rate] = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        return np.concatenate(out).astype(np.int16, copy=False) if out else np.zeros(0, dtype=np.int16)


def erle_db(near: np.ndarray, cleaned: np.ndarray) -> float:
    """Echo return loss enhancement: how much quieter the echo got, in dB.

    ``near`` is the microphone signal holding only echo, ``cleaned`` the canceller's
    output for it (same span).
    """
    size = min(near.size, cleaned.size)
    before = float(np.sum(np.square(near[:size], dtype=np.float64)))
    after = float(np.sum(np.square(cleaned[:size], dtype=np.float64)))
    return 10.0 * np.log10(max(before, 1e-12) / max(after, 1e-12))


def _to_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)
