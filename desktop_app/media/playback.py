"""Speaker playback: Opus packets -> small jitter buffer -> sounddevice output stream.

The audio callback only copies samples out of the buffer; decoding happens in
:meth:`SpeakerSink.write` (about 30 microseconds per 20 ms packet).

An idle output stream is not free, and it is slow to speak: PortAudio calls back every
20 ms to play silence (about 1.5 % of a core on PulseAudio, half of the window's idle CPU),
and the device's buffer stays full of that silence, so a reply's first sample is heard
~55 ms after :meth:`SpeakerSink.write` (PulseAudio null sink, measured at its monitor)
against ~10 ms on a stream just started. So the stream sleeps after ``IDLE_SLEEP_S`` with
nothing to play once the reply has ended (:meth:`SpeakerSink.drain_started` or
:meth:`SpeakerSink.flush`; a pause between a reply's sentences keeps it awake, so an
unplugged device is noticed mid-reply), unless someone listens to the playback (the echo
canceller's tap, hands-free), and :meth:`SpeakerSink.write` wakes it: a restart takes
about 1 ms.

For barge-in and echo cancellation the sink reports what it plays: ``played`` marks
the packet whose first sample went to the device last (see ``core.sinks.PlayedMark``),
and ``on_played`` (for example ``EchoCanceller.push_playback``) receives every block
sent to the device, silence included, from the audio thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import numpy as np

from desktop_app.core.events import AudioPacket
from desktop_app.core.sinks import PlayedMark
from desktop_app.errors import AppError
from desktop_app.media.opus import FRAME_SAMPLES, OPUS_RATE, OpusDecoder


STALL_S = 2.0  # an open output stream whose callback has not run for this long is gone
IDLE_SLEEP_S = 0.5  # nothing to play for this long: the stream stops until the next packet


class AudioDeviceError(AppError):
    """No usable audio device (none present, vanished, or PortAudio missing)."""


def _sounddevice():
    try:
        import sounddevice
    except OSError:
        raise AudioDeviceError("audio is unavailable: the PortAudio library is not installed (Debian: libportaudio2)") from None
    return sounddevice


class SpeakerSink:
    """An :class:`~desktop_app.core.sinks.AudioSink` that plays through a speaker."""

    def __init__(
        self,
        device: int | str | None = None,
        prebuffer_packets: int = 3,
        on_played: Callable[[np.ndarray, int], None] | None = None,
        idle_sleep_s: float | None = IDLE_SLEEP_S,  # None: the stream never sleeps
    ) -> None:
        sd = _sounddevice()
        self._sd = sd
        self._prebuffer = prebuffer_packets * FRAME_SAMPLES
        self._decoder = OpusDecoder()
        self._lock = threading.Lock()
        self._queue: deque[tuple[np.ndarray, PlayedMark | None]] = deque()
        self._on_played = on_played
        self.played: PlayedMark | None = None
        self._queued = 0
        self._playing = False
        self._idle_sleep_s = idle_sleep_s
        self._quiet_since = time.monotonic()
        self._asleep = False  # stopped by its own callback after IDLE_SLEEP_S of silence
        self._in_reply = False  # packets came and the reply has not ended (drain_started/flush)
        self._broken: str | None = None  # the device failed to restart: why
        self._waking_since: float | None = None  # a restart was asked for and has not returned
        self._wake_asked = threading.Event()
        self._waker: threading.Thread | None = None
        self._closed = False
        self.wakes = 0  # restarts after sleeping (tests)
        self._last_callback = time.monotonic()
        try:
            self._stream = sd.OutputStream(
                samplerate=OPUS_RATE,
                channels=1,
                dtype="float32",
                blocksize=FRAME_SAMPLES,
                device=device,
                latency="low",
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"no usable audio output device ({' '.join(str(exc).split())})") from None

    @property
    def on_played(self) -> Callable[[np.ndarray, int], None] | None:
        return self._on_played

    @on_played.setter
    def on_played(self, tap: Callable[[np.ndarray, int], None] | None) -> None:
        """May be swapped at any time (hands-free on/off); a listener keeps the stream awake."""
        self._on_played = tap
        if tap is not None:
            self._wake()

    @property
    def asleep(self) -> bool:
        return self._asleep

    def write(self, packet: AudioPacket) -> None:
        pcm = self._decoder.decode(packet.data)
        with self._lock:
            self._queue.append((pcm, PlayedMark(packet.turn_id, packet.sequence)))
            self._queued += pcm.size
            self._in_reply = True
            if not self._playing and self._queued >= self._prebuffer:
                self._playing = True
        self._wake()

    def _wake(self) -> None:
        """Restart a sleeping stream, on the sink's own thread: PortAudio's ALSA host can
        block for good in ``start()`` when the device vanished while the stream slept (the
        window froze mid-reply on an unplugged speaker), so the caller (the event loop)
        never waits for it; a restart stuck for ``STALL_S`` makes the sink not ``alive``."""
        if not self._asleep or self._broken or self._waking_since is not None:
            return
        self._waking_since = time.monotonic()
        if self._waker is None:
            self._waker = threading.Thread(target=self._wake_loop, name="speaker-wake", daemon=True)
            self._waker.start()
        self._wake_asked.set()

    def _wake_loop(self) -> None:
        while True:
            self._wake_asked.wait()
            self._wake_asked.clear()
            if self._closed:
                return
            try:
                self._stream.stop()  # it has completed (CallbackStop): this returns at once
                self._quiet_since = self._last_callback = time.monotonic()
                self._stream.start()
            except (self._sd.PortAudioError, ValueError) as exc:  # the device went away while asleep
                self._broken = " ".join(str(exc).split())
            else:
                self._asleep = False
                self.wakes += 1
            self._waking_since = None

    def flush(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued = 0
            self._playing = False
            self._in_reply = False

    def drain_started(self) -> None:
        """Play whatever is buffered even if below the prebuffer (end of a reply)."""
        with self._lock:
            self._in_reply = False
            if self._queued:
                self._playing = True

    @property
    def buffered_ms(self) -> float:
        return self._queued * 1000.0 / OPUS_RATE

    @property
    def alive(self) -> bool:
        """False once the device is gone (unplugged): PortAudio stopped the stream, or
        its callback has not run for STALL_S, or it could not be woken. Asleep is alive."""
        if self._broken:
            return False
        waking = self._waking_since
        if waking is not None:
            return time.monotonic() - waking < STALL_S
        if self._asleep:
            return True
        return bool(self._stream.active) and time.monotonic() - self._last_callback < STALL_S

    def _callback(self, outdata, frames, _time, _status) -> None:
        self._last_callback = time.monotonic()
        out = outdata[:, 0]
        filled = 0
        with self._lock:
            if self._playing:
                while filled < frames and self._queue:
                    head, mark = self._queue[0]
                    if mark is not None:  # the packet's first sample goes out now
                        self.played = mark
                    take = min(frames - filled, head.size)
                    out[filled : filled + take] = head[:take]
                    filled += take
                    self._queued -= take
                    if take == head.size:
                        self._queue.popleft()
                    else:
                        self._queue[0] = (head[take:], None)
                if not self._queue:
                    self._playing = False
        out[filled:] = 0.0
        tap = self._on_played
        if tap is not None:
            tap(out.copy(), OPUS_RATE)
        elif filled == 0 and self._idle_sleep_s is not None and not self._in_reply:
            if self._last_callback - self._quiet_since >= self._idle_sleep_s:
                with self._lock:
                    if not self._queue:  # (a packet may have come meanwhile: then play on)
                        self._asleep = True
                        raise self._sd.CallbackStop
            return
        if filled:
            self._quiet_since = self._last_callback
    def close(self) -> None:
        self._closed = True
        if self._waker is not None:
            self._wake_asked.set()
            if self._waking_since is not None:  # stuck in PortAudio: leave the stream to it
                return
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:
            pass
