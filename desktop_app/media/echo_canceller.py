"""Acoustic echo cancellation: the app's own voice removed from the microphone.

WebRTC's audio processing module (AEC3), as packaged by ``livekit`` (Apache-2.0, a
prebuilt native library; no network, no hub). The playback signal (the decoded reply
as it goes to the speaker) is the *reverse* stream; the microphone is the *near*
stream. Both are processed at 16 kHz in 10 ms frames.

Threads: :meth:`EchoCanceller.push_playback` may be called from the audio output
callback (it only appends to a queue under a lock); every call into the native module
happens in :meth:`EchoCanceller.process`, on the thread that handles the microphone.

Alignment: AEC3 finds a constant delay between playback and its echo, so both streams
must reach it in the order they happened, even when the microphone thread runs late and
handles a burst of blocks at once. Playback is stamped when the output callback takes
it (just before the device plays it); microphone blocks carry the time their callback
ran (``captured_at``, just after the device captured them). Before each 10 ms
microphone frame, exactly the playback stamped up to that frame's time is handed over:
the reference always leads its echo, by the same amount every time. Without stamps
(synthetic tests), all playback that arrived is handed over first.

Guard window: AEC3 needs a moment to find the echo path's delay. When playback starts
after a pause, the cleaned microphone is muted for ``guard_ms`` (default 150 ms), so a
leak in that moment cannot look like the user speaking. Turn detection needs 250 ms of
speech to start a turn, so the guard never hides a whole word.

Transparent when there is nothing to cancel: once the playback has been silent for
``bypass_ms`` (default 500 ms: the output and input latencies plus a room's reverb tail),
the microphone passes through untouched, and the module is not called at all: both of
its streams pause together, so what it learnt of the echo path (the delay, the filter)
is there when the next reply starts. Hands-free listens all the time, and the module's
four calls per 10 ms frame cost 1.6 % of a core while nothing played, on the thread
that also feeds the turn (the user talks while the speaker is silent). AEC3 is not transparent on clean speech: Whisper tiny.en heard
"capital of friends" in its output where the raw microphone gave "capital of France".

No echo path (headphones): AEC3 still damps the user's voice while a reply plays (the
first word said over it was lost), so once :class:`~desktop_app.media.echo_path.EchoPathMonitor`
finds no echo in the microphone during a reply (2 s of it, at the soonest), the
microphone passes untouched for the rest of that reply. Each
reply starts cancelled (:meth:`EchoCanceller.next_reply`: headphones unplugged between
replies), and the guard below does not mute a microphone that hears no echo.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

import numpy as np
from livekit import rtc

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.media.audio_file import StreamResampler
from desktop_app.media.echo_path import EchoPath, EchoPathMonitor

_log = logging.getLogger(__name__)
RATE = SAMPLE_RATE
FRAME = 160  # 10 ms at 16 kHz, the module's frame
_SILENT_RMS = 1e-4  # about -80 dBFS: below this a playback frame is silence
# Playback waiting for its microphone frames: 5 s. The microphone's blocks reach
# process() through the event loop, so a busy main thread hands over a burst of them at
# once, and each needs the playback stamped up to its time. This bound was 500 ms: a
# stall of more than that (a loaded machine) dropped playback its microphone blocks were
# still to get, AEC3 lost the echo's delay, and the reply's echo leaked (9 dB instead
# of 50) and interrupted the reply. Beyond the bound (the microphone stopped while the
# speaker plays on), the oldest is dropped.
_MAX_REVERSE_FRAMES = 500
# Playback silent this long, then audible: a new reply, whose echo path is judged afresh
# (echo_path). Not the gaps between a reply's sentences: up to a second on a loaded
# machine, and a judgement started over there left a user's words to AEC3 (CI, headphones).
_NEW_REPLY_SAMPLES = 2 * RATE
_MAX_INCOMING_S = 5.0
_MAX_SKEW_FRAMES = 4  # playback and microphone frames skipped in a bypass: beyond this, not a slip


def _silence() -> rtc.AudioFrame:
    """One 10 ms frame of silence for the module (its warm-up, a bypass's rebalance)."""
    return rtc.AudioFrame(bytes(2 * FRAME), RATE, 1, FRAME)


class EchoCanceller:
    steps_aside = True  # False: AEC3's output even with no echo path (benchmarks/echo_path.py)

    def __init__(
        self,
        guard_ms: int = 150,
        idle_ms: int = 300,
        bypass_ms: int = 500,
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
        self._incoming: deque[tuple[np.ndarray, int, float]] = deque()  # (pcm, rate, stamp)
        self._resampler = StreamResampler(RATE)
        self._reverse: deque[tuple[np.ndarray, float]] = deque()  # 10 ms frames, with their time
        self._partial = np.zeros(0, dtype=np.int16)  # the start of the next frame
        self._near = np.zeros(0, dtype=np.float32)
        self._bypass = RATE * bypass_ms // 1000
        self._quiet = max(self._idle, self._bypass)  # playback samples of silence seen in a row
        # Frames the module did not get while bypassed, playback and microphone, and the
        # time the first of each was due: the time each side skipped must match when it is
        # fed again (_rebalance), or AEC3 sees the echo move by 10 ms.
        self._skipped_reverse = 0
        self._skipped_capture = 0
        self._reverse_skipped_from: float | None = None  # the first skipped playback frame's stamp
        self._capture_skipped_from: float | None = None  # the first skipped microphone frame's end
        self._guard_left = 0
        self.guard_windows = 0  # how many times the guard opened (for tests and logs)
        # Audible playback dropped before the canceller got it (the silence a speaker plays
        # while the microphone is not read yet, the models loading, does not count).
        self.dropped_playback_ms = 0.0
        self._stats = EchoStats()
        self._path = EchoPathMonitor()
        self._warm_up()

    def _warm_up(self, frames: int = 20) -> None:
        """200 ms of silence through both streams: AEC3 settles its buffers on its first
        frames (tests/media/test_echo_canceller.py, AMD EPYC: the first reply's echo 48 dB
        quieter with it, 37 without; 500 ms gave 53 dB, but the user's words spoken over
        the reply were no longer all heard)."""
        for _ in range(frames):
            self._apm.process_reverse_stream(_silence())
            self._apm.process_stream(_silence())

    # ---- playback side (any thread) -------------------------------------------------

    def push_playback(self, pcm: np.ndarray, sample_rate: int = 48000, played_at: float | None = None) -> None:
        """Audio as it is played (float32 mono, any rate), stamped now (``time.monotonic``)
        unless ``played_at`` says otherwise. Cheap: queued for process()."""
        block = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if block.size:
            stamp = time.monotonic() if played_at is None else played_at
            with self._lock:
                self._incoming.append((block.copy(), sample_rate, stamp))
                while stamp - self._incoming[0][2] > _MAX_INCOMING_S:  # nobody takes it
                    old, old_rate, _ = self._incoming.popleft()
                    if _audible(old):
                        self.dropped_playback_ms += old.size * 1000.0 / old_rate

    # ---- microphone side --------------------------------------------------------------

    @property
    def guarding(self) -> bool:
        return self._guard_left > 0

    def process(self, pcm: np.ndarray, captured_at: float | None = None) -> np.ndarray:
        """Microphone audio (16 kHz mono float32) in, echo-cancelled audio out.

        ``captured_at``: when the block's last sample was captured (``time.monotonic``
        in the input callback); None hands over all playback that arrived so far.
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
            frame_end = None if captured_at is None else captured_at - (near.size - offset - FRAME) / RATE
            played = self._feed_reverse(frame_end)
            mic = near[offset : offset + FRAME]
            if self._quiet >= self._bypass:  # no echo to remove: the microphone as it is
                if not self._skipped_capture:
                    self._capture_skipped_from = frame_end
                self._skipped_capture += 1
                out[offset : offset + FRAME] = mic
                continue
            frame = rtc.AudioFrame(_to_int16(mic).tobytes(), RATE, 1, FRAME)
            if self._delay_ms:
                self._apm.set_stream_delay_ms(self._delay_ms)
            self._apm.process_stream(frame)
            cleaned = np.frombuffer(bytes(frame.data), dtype=np.int16).astype(np.float32) / 32768.0
            self._stats.add(mic, cleaned)
            before = self._path.verdict
            self._path.add(mic, cleaned, played)
            if self._path.verdict is not before:
                _log.info("echo canceller: echo path %s (%s)", self._path.verdict.value, _VERDICTS[self._path.verdict])
            if self._path.verdict is EchoPath.NONE and self.steps_aside:  # headphones: AEC3 only damps
                cleaned = mic.copy()
            if self._guard_left > 0 and self._path.verdict is not EchoPath.NONE:  # (no echo to leak)
                cleaned[:] = 0.0
                self._guard_left = max(0, self._guard_left - FRAME)
            out[offset : offset + FRAME] = cleaned
        return out

    def take_stats(self) -> "EchoStats":
        """What was cancelled since the last call (while the assistant talked)."""
        stats, self._stats = self._stats, EchoStats()
        return stats

    def _take_playback(self) -> None:
        """Playback that arrived, resampled and cut into stamped 10 ms frames."""
        with self._lock:
            items = list(self._incoming)
            self._incoming.clear()
        for block, rate, stamp in items:
            pcm = self._resampler.push(_to_int16(block), rate)
            # Each frame is stamped from its own block's stamp (the carried partial frame
            # just before it), never by adding up frame lengths: the resampler's filter
            # delay leaves a partial frame after every block, and summed lengths drift
            # from real time by every underrun, until the reference led its echo by more
            # than AEC3 searches and the echo leaked (1.9 dB on a loaded machine).
            first_at = stamp - self._partial.size / RATE
            partial = np.concatenate([self._partial, pcm]) if self._partial.size else pcm
            whole = partial.size // FRAME * FRAME
            for offset in range(0, whole, FRAME):
                self._reverse.append((partial[offset : offset + FRAME], first_at + offset / RATE))
            self._partial = partial[whole:]
        while len(self._reverse) > _MAX_REVERSE_FRAMES:  # the microphone stalled: keep the newest
            samples, _stamp = self._reverse.popleft()
            if _audible(samples / 32768.0):
                self.dropped_playback_ms += FRAME * 1000.0 / RATE

    def _feed_reverse(self, until: float | None) -> np.ndarray:
        """Hand the module the playback frames played up to ``until`` (all when None);
        returns them (float, empty when none were due)."""
        fed = []
        while self._reverse and (until is None or self._reverse[0][1] <= until):
            samples, stamp = self._reverse.popleft()
            self._watch_start(samples)
            if self._quiet < self._bypass:
                if self._skipped_reverse or self._skipped_capture:
                    self._rebalance(stamp, until)
                self._apm.process_reverse_stream(rtc.AudioFrame(samples.tobytes(), RATE, 1, FRAME))
            else:
                if not self._skipped_reverse:
                    self._reverse_skipped_from = stamp
                self._skipped_reverse += 1
            fed.append(samples)
        if not fed:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(fed).astype(np.float32) / 32768.0

    def _rebalance(self, stamp: float, until: float | None) -> None:
        """Before the module is fed again after a bypass (playback frame ``stamp``, for the
        microphone frame ending at ``until``): give it silence on the side that skipped
        less time, so playback and microphone keep the alignment they had.

        A bypass starts and ends between the playback frames due for one microphone frame,
        so the two sides skip 10 ms more or less now and then. AEC3 took that for a new
        echo path, and the next reply's echo leaked: 0-6 dB removed for its first 1.5 s
        instead of 50 (tests/media/test_echo_canceller.py). Time, not frames: a speaker
        callback or a microphone block lost in the pause is time that passed on that side
        (counted as frames, it shifted AEC3 by 20 ms and the echo leaked, 1-20 dB). A
        larger difference is a stream that started or stopped on its own: left to AEC3."""
        reverse, capture = self._skipped_reverse, self._skipped_capture
        # Without the microphone's times (``until`` None) both sides are counted: its
        # frames cannot be set against the playback's stamps. (Mixed, a replay faster
        # than real time read 45 playback frames as 0, left a real 1-frame slip alone,
        # and the echo leaked for 1.2 s after the pause: tests/media/test_echo_canceller.py.)
        if until is not None:
            if reverse and self._reverse_skipped_from is not None:
                reverse = round((stamp - self._reverse_skipped_from) * RATE / FRAME)
            if capture and self._capture_skipped_from is not None:
                capture = round((until - self._capture_skipped_from) * RATE / FRAME)
        self._skipped_reverse = self._skipped_capture = 0
        self._reverse_skipped_from = self._capture_skipped_from = None
        skew = reverse - capture
        if abs(skew) > _MAX_SKEW_FRAMES:
            return
        for _ in range(skew):  # more playback time skipped: that playback, as silence
            self._apm.process_reverse_stream(_silence())
        for _ in range(-skew):  # more microphone time skipped: that microphone, as silence
            self._apm.process_stream(_silence())

    def next_reply(self) -> None:
        """The next playback is a new reply (a turn was submitted, or a reply cut): its echo
        path is judged afresh, cancelled until then. Also when the playback goes silent
        for two seconds (a caller that does not say)."""
        self._path.reset()

    @property
    def echo_path(self) -> EchoPath:
        """Whether the microphone hears the playback (``NONE``: it passes untouched)."""
        return self._path.verdict

    def _watch_start(self, samples: np.ndarray) -> None:
        if not _audible(samples / 32768.0):
            self._quiet += samples.size
            return
        if self._quiet >= _NEW_REPLY_SAMPLES:  # a new reply: is there an echo path? (judged afresh)
            self._path.reset()
        if self._quiet >= self._idle:  # playback (re)starts after a pause
            self._guard_left = self._guard
            self.guard_windows += 1
        self._quiet = 0

class EchoStats:
    """How much quieter the microphone got, per 100 ms window, while playback was active.

    ``suppression_db`` is the median over those windows: with only echo in the
    microphone it is the echo return loss enhancement; windows where the user talked
    over the reply (their speech passes untouched) do not drag it down.
    """

    WINDOW = 10  # frames: 100 ms

    def __init__(self) -> None:
        self.frames = 0
        self._in = 0.0
        self._out = 0.0
        self._count = 0
        self.windows_db: list[float] = []

    def add(self, near: np.ndarray, cleaned: np.ndarray) -> None:
        self.frames += 1
        self._in += float(np.sum(np.square(near, dtype=np.float64)))
        self._out += float(np.sum(np.square(cleaned, dtype=np.float64)))
        self._count += 1
        if self._count == self.WINDOW:
            if self._in > 1e-7:  # not digital silence: there is something to measure
                self.windows_db.append(10.0 * np.log10(self._in / max(self._out, 1e-12)))
            self._in = self._out = 0.0
            self._count = 0

    @property
    def seconds(self) -> float:
        return self.frames * FRAME / RATE

    @property
    def suppression_db(self) -> float:
        return float(np.median(self.windows_db)) if self.windows_db else 0.0

    def suppression_after(self, seconds: float) -> float:
        """The median once the canceller had ``seconds`` of playback to adapt (all the
        windows when fewer than five come after that)."""
        later = self.windows_db[int(seconds * 10) :]
        return float(np.median(later)) if len(later) >= 5 else self.suppression_db


def erle_db(near: np.ndarray, cleaned: np.ndarray) -> float:
    """Echo return loss enhancement: how much quieter the echo got, in dB.

    ``near`` is the microphone signal holding only echo, ``cleaned`` the canceller's
    output for it (same span).
    """
    size = min(near.size, cleaned.size)
    before = float(np.sum(np.square(near[:size], dtype=np.float64)))
    after = float(np.sum(np.square(cleaned[:size], dtype=np.float64)))
    return 10.0 * np.log10(max(before, 1e-12) / max(after, 1e-12))


_VERDICTS = {
    EchoPath.NONE: "no echo of the reply in the microphone: it passes untouched",
    EchoPath.HEARD: "the reply's echo is in the microphone: cancelled",
}


def _audible(pcm: np.ndarray) -> bool:
    return bool(pcm.size) and float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64)))) >= _SILENT_RMS


def _to_int16(pcm: np.ndarray) -> np.ndarray:
    return (np.clip(pcm, -1.0, 1.0) * 32767.0).astype(np.int16)
