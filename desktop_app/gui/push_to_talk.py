"""Push-to-talk: hold to record from an audio source, release to submit the utterance."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from desktop_app.core.metrics import now_ms
from desktop_app.core.turn import TurnInput
from desktop_app.errors import AppError
from desktop_app.media.microphone import SAMPLE_RATE, AudioSource

MIN_SECONDS = 0.25  # shorter presses are taken as accidental


class PushToTalk(QObject):
    recordingChanged = Signal(bool)
    message = Signal(str)  # one line for the status bar
    utterance = Signal(object)  # the TurnInput built on release

    def __init__(
        self,
        source: AudioSource | None,
        frame: Callable[[], bytes | None],
        submit: Callable[[TurnInput], bool],
        interrupt: Callable[[], bool],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.source = source
        self._frame = frame
        self._submit = submit
        self._interrupt = interrupt
        self.recording = False

    def press(self) -> None:
        if self.recording:
            return
        if self.source is None:
            self.message.emit("No microphone: type your message instead")
            return
        self._interrupt()  # talking over the reply stops it
        try:
            self.source.start()
        except AppError as exc:
            self.message.emit(str(exc))
            return
        self.recording = True
        self.recordingChanged.emit(True)
        self.message.emit("Listening... release to send")

    def release(self) -> None:
        if not self.recording:
            return
        self.recording = False
        end = now_ms()
        assert self.source is not None
        pcm = np.asarray(self.source.stop(), dtype=np.float32)
        self.recordingChanged.emit(False)
        if pcm.size < MIN_SECONDS * SAMPLE_RATE:
            self.message.emit("Too short: hold Space while you speak")
            return
        data = TurnInput(audio=pcm, image_jpeg=self._frame(), end_of_speech_ms=end)
        if self._submit(data):
            self.utterance.emit(data)
            self.message.emit("Thinking...")
        else:
            self.message.emit("Models are still loading: try again in a moment")

    def level(self) -> float:
        if not self.recording or self.source is None:
            return 0.0
        return self.source.level()
