"""Play and record at the same time on the configured sound devices, blocking.

Streams are opened the way the app opens them (microphone: 16 kHz mono, 20 ms blocks;
speaker: 48 kHz mono, 20 ms blocks). Each block is stamped with ``time.monotonic()``
in its callback, as the app stamps them for its echo canceller. Every problem (no
PortAudio, no such device, a device that fails to open, one that stops delivering
audio half way) becomes a :class:`DeviceProblem`: one line and a fix, no traceback.
Run it in a worker thread: it sleeps for as long as it plays or records.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.media.levels import dbfs
from desktop_app.errors import AppError
from desktop_app.media.devices import device_arg, input_names, output_names

MIC_RATE = SAMPLE_RATE
MIC_BLOCK = 320  # 20 ms
SPEAKER_RATE = 48000
SPEAKER_BLOCK = 960  # 20 ms
TAIL_S = 0.4  # keep recording after the playback: output latency and the room's echo tail
STALL_S = 3.0  # no audio for this long from a running stream: the device is gone (as the window's microphone)
START_S = 5.0  # streams take up to ~1.5 s to start on PulseAudio (measured); longer: a dead device
PREFILL_BLOCKS = 4  # an output stream asks for a few blocks at once before it starts playing


class DeviceProblem(AppError):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


@dataclass
class Take:
    """What was recorded (16 kHz) and played (48 kHz), block by block, with callback times."""

    mic_blocks: list[tuple[np.ndarray, float]] = field(default_factory=list)
    played_blocks: list[tuple[np.ndarray, float]] = field(default_factory=list)
    played_samples: int = 0  # of the given signal (not the silence after it)
    glitches: int = 0  # callbacks PortAudio flagged (an underflow or overflow): audio skipped

    @property
    def mic(self) -> np.ndarray:
        return np.concatenate([b for b, _ in self.mic_blocks]) if self.mic_blocks else np.zeros(0, dtype=np.float32)


def _sounddevice():
    try:
        import sounddevice
    except OSError:
        raise DeviceProblem(
            "audio is unavailable: the PortAudio library is not installed", "install it (Debian/Ubuntu: sudo apt install libportaudio2)"
        ) from None
    return sounddevice


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _check_device(sd, name: str, kind: str) -> None:
    """Raise a DeviceProblem when there is no such (or no default) device."""
    what = "microphone" if kind == "input" else "speaker"
    try:
        sd.query_devices(device_arg(name), kind=kind)
    except Exception as exc:  # ValueError: no match; PortAudioError: no default device
        found = input_names() if kind == "input" else output_names()
        listing = f" (found: {', '.join(found)})" if found else " (none found)"
        if name and "multiple" in str(exc).lower():
            raise DeviceProblem(f"several {what}s match '{name}'{listing}", f"pick the {what} by its full name in Settings > Devices and keys") from None
        if name:
            raise DeviceProblem(
                f"no {what} named '{name}'{listing}", f"plug it in, or pick another {what} in Settings > Devices and keys"
            ) from None
        raise DeviceProblem(f"no {what} found (PortAudio: {_one_line(exc)})", f"connect a {what} and check it is enabled in the system's sound settings") from None


def play_and_record(
    output_device: str | None,
    input_device: str | None,
    signal: np.ndarray | None = None,
    record_s: float = 0.0,
    on_level: Callable[[float], None] | None = None,
    on_start: Callable[[], None] | None = None,
) -> Take:
    """Play ``signal`` (48 kHz float32) on ``output_device`` while recording ``input_device``.

    None for a device: that side is not opened. Records for ``record_s`` seconds, or for
    the whole playback plus a short tail, whichever is longer. ``on_start`` is called
    (from this thread) once the microphone delivers audio, or the speaker plays.
    """
    sd = _sounddevice()
    take = Take()
    play = output_device is not None and signal is not None
    record = input_device is not None
    if record:
        _check_device(sd, input_device or "", "input")
    if play:
        _check_device(sd, output_device or "", "output")
    pcm = np.ascontiguousarray(signal if play else np.zeros(0), dtype=np.float32)
    play_s = pcm.size / SPEAKER_RATE if play else 0.0
    total_s = max(record_s, play_s + (TAIL_S if record and play else 0.0))
    lock = threading.Lock()
    position = [0]

    def on_input(indata, _frames, _time, status) -> None:
        block = indata[:, 0].copy()
        with lock:
            take.mic_blocks.append((block, time.monotonic()))
            take.glitches += bool(status)
        if on_level is not None:
            on_level(dbfs(block))

    def on_output(outdata, frames, _time, status) -> None:
        out = outdata[:, 0]
        if status:
            with lock:
                take.glitches += 1
        if record and not take.mic_blocks:  # the signal starts once the microphone hears
            out[:] = 0.0
            return
        start = position[0]
        n = max(0, min(frames, pcm.size - start))
        out[:n] = pcm[start : start + n]
        out[n:] = 0.0
        position[0] = start + frames
        with lock:
            take.played_blocks.append((out.copy(), time.monotonic()))
            take.played_samples = min(position[0], pcm.size)

    streams = []
    try:
        if record:
            streams.append(_open(sd, sd.InputStream, "microphone", input_device, MIC_RATE, MIC_BLOCK, on_input, "high"))
        if play:
            streams.append(_open(sd, sd.OutputStream, "speaker", output_device, SPEAKER_RATE, SPEAKER_BLOCK, on_output, "low"))
        _wait(take, lock, position, record, play, total_s, pcm.size, on_start)
    finally:
        for stream in streams:
            try:
                stream.abort()
                stream.close()
            except Exception:
                pass
    return take


def _open(sd, kind, what: str, device: str, rate: int, block: int, callback, latency: str):
    """A stream opened as the app opens it (the speaker with low latency, as SpeakerSink)."""
    try:
        stream = kind(samplerate=rate, channels=1, dtype="float32", blocksize=block, device=device_arg(device), callback=callback, latency=latency)
        stream.start()
    except (sd.PortAudioError, ValueError, OSError) as exc:
        raise DeviceProblem(
            f"the {what} would not open: {_one_line(exc)}",
            f"close other programs using it, or pick another {what} in Settings > Devices and keys",
        ) from None
    return stream


def _wait(
    take: Take, lock: threading.Lock, position: list[int], record: bool, play: bool, total_s: float, size: int, on_start: Callable[[], None] | None
) -> None:
    """Sleep until done; a stream that stops delivering for STALL_S is a vanished device."""
    started = time.monotonic()
    last_mic, last_out = started, started
    seen_mic, seen_out = 0, 0
    while True:
        time.sleep(0.05)
        now = time.monotonic()
        with lock:
            mic_n, out_n = len(take.mic_blocks), len(take.played_blocks)
        if mic_n != seen_mic:
            seen_mic, last_mic = mic_n, now
        if out_n != seen_out and out_n > PREFILL_BLOCKS:
            seen_out, last_out = out_n, now
        recorded_s = mic_n * MIC_BLOCK / MIC_RATE
        if on_start is not None and (mic_n if record else out_n > PREFILL_BLOCKS):
            on_start()
            on_start = None
        if record and not mic_n and now - started > START_S:
            raise DeviceProblem(
                f"the microphone delivered no audio in {START_S:.0f} s", "check it is not used by another program, or pick another microphone in Settings > Devices and keys"
            )
        if play and out_n <= PREFILL_BLOCKS and now - started > START_S + (START_S if record else 0):
            raise DeviceProblem(
                f"the speaker did not start playing in {START_S:.0f} s", "check it is not used by another program, or pick another speaker in Settings > Devices and keys"
            )
        if record and mic_n and now - last_mic > STALL_S:
            raise DeviceProblem(
                f"the microphone stopped delivering audio after {recorded_s:.1f} s (unplugged or taken by another program?)",
                "reconnect it, or pick another microphone in Settings > Devices and keys",
            )
        if play and out_n > PREFILL_BLOCKS and now - last_out > STALL_S:
            raise DeviceProblem(
                f"the speaker stopped playing after {position[0] / SPEAKER_RATE:.1f} s (unplugged or taken by another program?)",
                "reconnect it, or pick another speaker in Settings > Devices and keys",
            )
        mic_done = not record or recorded_s >= total_s
        out_done = not play or position[0] >= size + (SPEAKER_RATE * TAIL_S if not record else 0)
        if mic_done and out_done:
            return


def to_speaker_rate(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at ``rate`` resampled to the speaker's 48 kHz (PyAV, as the app does)."""
    from desktop_app.media.audio_file import resample

    return resample(pcm, rate, SPEAKER_RATE)
