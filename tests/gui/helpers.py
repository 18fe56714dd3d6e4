"""Helpers for GUI tests: run coroutines while Qt spins, an injected microphone, windows."""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

from desktop_app.config import AppPaths, Settings

FAST = Settings(llm_provider="embedded", llm_model="smollm2-135m", llm_max_tokens=120)
WARM_UP_MS = 300_000  # first run may assemble model files; 2 slow cores
TURN_MS = 180_000


def run(qtbot, coro, timeout: int = TURN_MS):
    """Run a coroutine on the qasync loop while Qt spins; return its result."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def open_window(
    qtbot, qloop, microphone=None, video: str = "pattern", use_speaker: bool = False, start: bool = True, settings: Settings = FAST, **kwargs
):
    """The window; ``microphone``: a :class:`LiveMicrophone` (its factory opens the stream)."""
    from desktop_app.gui.main_window import MainWindow

    factory = microphone.factory if isinstance(microphone, LiveMicrophone) else microphone
    window = MainWindow(settings, AppPaths.from_env(), microphone=factory, use_speaker=use_speaker, video=video, **kwargs)
    window.show()
    qtbot.waitExposed(window)
    if start:
        window.session.start()
    return window


def close_window(qtbot, window) -> None:
    window.close()
    run(qtbot, window.aclose())
    window.deleteLater()


def wait_ready(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.session.is_ready or "\u26a0" in window.status_label.text(), timeout=WARM_UP_MS)
    assert window.session.is_ready, window.status_label.text()


def last_entry(window):
    return window.transcript.entries[-1] if window.transcript.entries else None


def wait_turn_finished(qtbot, window, count: int) -> None:
    def finished() -> bool:
        entries = window.transcript.entries
        return len(entries) >= count and entries[count - 1].finished

    qtbot.waitUntil(finished, timeout=TURN_MS)


class LiveMicrophone:
    """An open microphone: a thread delivers 20 ms blocks at real-time pace, as a sound card does.

    Silence (a faint noise floor) flows until :meth:`say` queues speech. Its
    :meth:`factory` is what ``MainWindow(microphone=...)`` opens the stream with.
    """

    BLOCK = 320

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._pending = np.zeros(0, dtype=np.float32)
        self._on_block = None
        self._thread = None
        self._running = False
        self._last = np.zeros(self.BLOCK, dtype=np.float32)
        self.starts = 0
        self.fail_next_start: str | None = None

    def factory(self, on_block, block_ms: int = 20):
        self._on_block = on_block
        self.block_ms = block_ms  # (blocks stay 20 ms: the window's logic must not depend on it)
        return self

    def say(self, pcm: np.ndarray) -> None:
        with self._lock:
            self._pending = np.concatenate([self._pending, np.asarray(pcm, dtype=np.float32)])

    @property
    def speaking(self) -> bool:
        with self._lock:
            return self._pending.size > 0

    def start(self) -> None:
        import threading

        from desktop_app.media.microphone import MicrophoneError

        if self.fail_next_start:
            reason, self.fail_next_start = self.fail_next_start, None
            raise MicrophoneError(reason)
        self.starts += 1
        self._running = True
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> np.ndarray:
        self._running = False
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return np.zeros(0, dtype=np.float32)

    def level(self) -> float:
        from desktop_app.media.microphone import rms_level

        return rms_level(self._last)

    def _run(self) -> None:
        import time

        rng = np.random.default_rng(7)
        next_at = time.monotonic()
        while self._running:
            with self._lock:
                block = self._pending[: self.BLOCK]
                self._pending = self._pending[self.BLOCK :]
            if block.size < self.BLOCK:
                block = np.concatenate([block, np.zeros(self.BLOCK - block.size, dtype=np.float32)])
            block = block + rng.normal(0.0, 3e-4, self.BLOCK).astype(np.float32)
            self._last = block
            self._on_block(block)
            next_at += self.BLOCK / 16000
            time.sleep(max(0.0, next_at - time.monotonic()))


def wait_armed(qtbot, window, mic: "LiveMicrophone") -> None:
    """The window opened the microphone and its blocks arrive."""
    qtbot.waitUntil(lambda: window.microphone.armed and window.microphone.blocks > 5, timeout=10_000)


def say_and_wait(qtbot, mic: "LiveMicrophone", pcm: np.ndarray) -> None:
    """Speak ``pcm`` into the microphone and wait until it has all been delivered."""
    mic.say(pcm)
    qtbot.waitUntil(lambda: not mic.speaking, timeout=int(pcm.size / 16) + 30_000)
    qtbot.wait(60)  # the last blocks cross from the audio thread to the loop


@contextlib.contextmanager
def ready_window(qtbot, qloop, microphone: "LiveMicrophone | None" = None, **kwargs):
    """A window whose models are loaded (and whose microphone, when given, delivers blocks); closed after."""
    window = open_window(qtbot, qloop, microphone=microphone, **kwargs)
    try:
        wait_ready(qtbot, window)
        if microphone is not None:
            wait_armed(qtbot, window, microphone)
        yield window
    finally:
        close_window(qtbot, window)
