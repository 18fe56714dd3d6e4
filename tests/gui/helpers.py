"""Helpers for GUI tests: run coroutines while Qt spins, an injected microphone, windows."""

from __future__ import annotations

import asyncio

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


class SpeechSource:
    """An injected microphone: start() arms it, stop() returns the given speech."""

    def __init__(self, pcm: np.ndarray) -> None:
        self.pcm = pcm
        self.starts = 0
        self.recording = False

    def start(self) -> None:
        self.starts += 1
        self.recording = True

    def stop(self) -> np.ndarray:
        self.recording = False
        return self.pcm

    def level(self) -> float:
        return 0.6 if self.recording else 0.0


def open_window(
    qtbot, qloop, audio_source=None, video: str = "pattern", use_speaker: bool = False, start: bool = True, settings: Settings = FAST, **kwargs
):
    from desktop_app.gui.main_window import MainWindow

    window = MainWindow(settings, AppPaths.from_env(), audio_source=audio_source, use_speaker=use_speaker, video=video, **kwargs)
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
