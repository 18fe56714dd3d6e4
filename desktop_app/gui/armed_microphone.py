"""The window's microphone, armed: opened once, every block handed to the capture.

Opening an input stream per press loses the first word (100-1000 ms on real machines, a
Bluetooth headset even switches profile) and, on some devices, a re-opened stream
delivers almost nothing at first. So the window opens the microphone once and keeps it
open while it can take speech; the engine's :class:`~desktop_app.core.capture.SpeechCapture`
keeps nothing of it but a 300 ms pre-roll until push-to-talk goes down or hands-free
hears speech.

Privacy: the stream is open while the window is armed; with the setting
``close_microphone_when_hidden`` (on by default) it closes while the window is minimized
or hidden, and reopens when the window comes back. The status bar says which.

The audio callback only hands each block to the event loop (``call_soon_threadsafe``).
A stream that stops delivering audio (unplugged) is reopened once; if that fails the
microphone is reported lost with one line.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.errors import AppError
from desktop_app.media.devices import device_arg
from desktop_app.media.microphone import Microphone, input_device_problem

log = logging.getLogger(__name__)

STALL_S = 3.0  # an open microphone silent for this long (no blocks at all) has vanished
LOST_LINE = "the microphone is gone (unplugged?): type instead, or talk again once it is back"


class MicStream(Protocol):
    """An open microphone that calls its block callback (``media.microphone.Microphone``)."""

    def start(self) -> None: ...

    def stop(self) -> np.ndarray: ...

    def level(self) -> float: ...


OpenStream = Callable[[Callable[[np.ndarray], None], int], MicStream]  # (on_block, block_ms)

# Block sizes. Every block crosses from PortAudio's thread into Python: at 20 ms the armed
# window used 6.3 % CPU idle on PulseAudio, at 100 ms 3.2 % (2.3 % without a microphone).
# Push-to-talk loses nothing to big blocks (the release waits for the audio in flight);
# hands-free decides on 32 ms VAD windows and barges in, so it gets small ones.
IDLE_BLOCK_MS = 100
LIVE_BLOCK_MS = 20
BlockSink = Callable[[np.ndarray, float], None]  # (16 kHz mono float32, captured_at monotonic s)


def open_device(device: str) -> tuple[OpenStream | None, str | None]:
    """How to open the input ``device`` (a settings value), or None and why it cannot be."""
    problem = input_device_problem(device_arg(device))
    if problem:
        return None, problem

    def open_stream(on_block, block_ms: int) -> MicStream:
        return Microphone(device_arg(device), on_block=on_block, block_ms=block_ms)

    return open_stream, None


class ArmedMicrophone(QObject):
    armedChanged = Signal(bool)
    lost = Signal(str)  # the microphone stopped and could not be reopened: why

    def __init__(self, open_stream: OpenStream | None, sink: BlockSink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._open_stream = open_stream
        self._sink = sink
        self._stream: MicStream | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_block = 0.0
        self._reopened = False
        self.block_ms = IDLE_BLOCK_MS
        self.blocks = 0  # delivered since the start (tests, the device check)
        self._watchdog = QTimer(self)
        self._watchdog.setInterval(1000)
        self._watchdog.timeout.connect(self.watch)

    @property
    def available(self) -> bool:
        return self._open_stream is not None

    @property
    def armed(self) -> bool:
        return self._stream is not None

    def set_open_stream(self, open_stream: OpenStream | None) -> None:
        """Another device (settings): closed, and reopened on it when it was armed."""
        was_armed = self.armed
        self.disarm()
        self._open_stream = open_stream
        if was_armed and open_stream is not None:
            self.arm()

    def arm(self) -> str | None:
        """Open the microphone (once). None when it is open; else one line saying why not."""
        if self._stream is not None:
            return None
        if self._open_stream is None:
            return "no microphone"
        self._loop = asyncio.get_event_loop()  # qasync's (the window may open before it runs)
        try:
            stream = self._open_stream(self._on_block_threadsafe, self.block_ms)
            stream.start()
        except AppError as exc:
            return str(exc)
        self._stream = stream
        self._last_block = time.monotonic()
        self._reopened = False
        self._watchdog.start()
        log.info("microphone armed (open)")
        self.armedChanged.emit(True)
        return None

    def set_block_ms(self, block_ms: int) -> str | None:
        """Blocks of this size from now on (the stream is reopened if it is open)."""
        if block_ms == self.block_ms:
            return None
        self.block_ms = block_ms
        if self._stream is None:
            return None
        self.disarm()
        return self.arm()

    def disarm(self) -> None:
        self._watchdog.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            except Exception:
                log.exception("closing the microphone failed")
            log.info("microphone closed (%d blocks delivered so far)", self.blocks)
            self.armedChanged.emit(False)

    def level(self) -> float:
        return self._stream.level() if self._stream is not None else 0.0

    # ---- audio ----------------------------------------------------------------------

    def _on_block_threadsafe(self, block: np.ndarray) -> None:
        """From the audio thread: hand the block to the event loop, nothing else."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, block, time.monotonic())

    def _deliver(self, block: np.ndarray, captured_at: float) -> None:
        self._last_block = time.monotonic()
        if self._stream is None:
            return
        self.blocks += 1
        try:
            self._sink(block, captured_at)
        except Exception:  # a bug must not end listening silently: say it once, keep going
            log.exception("a microphone block could not be processed")

    def watch(self) -> None:
        """Every second while armed: a stream with no blocks for STALL_S has vanished."""
        if self._stream is None or time.monotonic() - self._last_block <= STALL_S:
            return
        stream = self._stream
        try:
            stream.stop()
        except Exception:
            pass
        if not self._reopened:
            self._reopened = True
            self._last_block = time.monotonic()
            try:
                stream.start()
                log.warning("the microphone stopped delivering audio; reopened it")
                return
            except AppError as exc:
                log.warning("the microphone stopped and could not be reopened: %s", exc)
        reason = LOST_LINE
        self._stream = None
        self._watchdog.stop()
        self.armedChanged.emit(False)
        self.lost.emit(reason)
