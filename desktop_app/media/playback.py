"""Speaker playback: Opus packets -> small jitter buffer -> sounddevice output stream.

The audio callback only copies samples out of the buffer; decoding happens in
:meth:`SpeakerSink.write` (about 30 microseconds per 20 ms packet).

For barge-in and echo cancellation the sink reports what it plays: ``played`` marks
the packet whose first sample went to the device last (see ``core.sinks.PlayedMark``),
and ``on_played`` (for example ``EchoCanceller.push_playback``) receives every block
sent to the device, silence included, from the audio thread.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable

import numpy as np

from desktop_app.core.events import AudioPacket
from desktop_app.core.sinks import PlayedMark
from desktop_app.errors import AppError
from desktop_app.media.opus import FRAME_SAMPLES, OPUS_RATE, OpusDecoder


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
    ) -> None:
        sd = _sounddevice()
        self._prebuffer = prebuffer_packets * FRAME_SAMPLES
        self._decoder = OpusDecoder()
        self._lock = threading.Lock()
        self._queue: deque[tuple[np.ndarray, PlayedMark | None]] = deque()
        self.on_played = on_played  # may be swapped at any time (hands-free on/off)
        self.played: PlayedMark | None = None
        self._queued = 0
        self._playing = False
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

    def write(self, packet: AudioPacket) -> None:
        pcm = self._decoder.decode(packet.data)
        with self._lock:
            self._queue.append((pcm, PlayedMark(packet.turn_id, packet.sequence)))
            self._queued += pcm.size
            if not self._playing and self._queued >= self._prebuffer:
                self._playing = True

    def flush(self) -> None:
        with self._lock:
            self._queue.clear()
            self._queued = 0
            self._playing = False

    def drain_started(self) -> None:
        """Play whatever is buffered even if below the prebuffer (end of a reply)."""
        with self._lock:
            if self._queued:
                self._playing = True

    @property
    def buffered_ms(self) -> float:
        return self._queued * 1000.0 / OPUS_RATE

    def _callback(self, outdata, frames, _time, _status) -> None:
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
        tap = self.on_played
        if tap is not None:
            tap(out.copy(), OPUS_RATE)

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:
            pass
