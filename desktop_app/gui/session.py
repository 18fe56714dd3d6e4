"""The engine as seen by the window: built and warmed in the background, events as signals.

The engine runs on the qasync loop (the GUI thread); its models run in their own worker
threads. Engine events are emitted on the loop thread, so they reach widgets directly.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.conversation import Conversation
from desktop_app.core.engine import Engine
from desktop_app.core.events import AudioPacket, Event, TurnFinished
from desktop_app.core.turn import TurnInput
from desktop_app.errors import AppError, redact

log = logging.getLogger(__name__)


class ProgressRelay(QObject):
    """A ``Progress`` callable usable from any thread: it forwards through a queued signal."""

    progress = Signal(str, float)

    def __call__(self, what: str, fraction: float) -> None:
        self.progress.emit(what, fraction)


class Session(QObject):
    event = Signal(object)  # every engine event except audio packets
    status = Signal(str)  # one line for the status bar
    ready = Signal()  # models loaded: turns can start
    failed = Signal(str)  # the engine could not start (one line)
    audioStatus = Signal(str)  # speaker availability

    def __init__(self, settings: Settings, paths: AppPaths, use_speaker: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.paths = paths
        self.engine: Engine | None = None
        self.is_ready = False
        self.speaker = None
        self._use_speaker = use_speaker
        self._relay = ProgressRelay(self)
        self._relay.progress.connect(lambda what, f: self.status.emit(f"{what} {f * 100:.0f}%"))
        self._task: asyncio.Task | None = None

    # ---- start-up -------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        """Build the engine and warm the models up, in the background."""
        self._task = asyncio.ensure_future(self._start())
        return self._task

    async def _start(self) -> None:
        try:
            self.status.emit("Preparing models...")
            engine = await asyncio.to_thread(make_engine, self.settings, self.paths, self._relay)
            self.engine = engine
            engine.subscribe(self._on_event)
            self._open_speaker()
            await self._warm_up()
        except AppError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a bug: say so in one line, keep the window usable
            log.exception("engine start-up failed")
            self._fail(f"internal error while loading models: {type(exc).__name__}: {exc}")

    async def _warm_up(self) -> None:
        assert self.engine is not None
        b = self.engine.backends
        self.status.emit(f"Loading models: speech {b.asr.name}, language {b.llm.name}, voice {b.tts.name}...")
        await self.engine.warm_up()
        self.is_ready = True
        self.status.emit("Ready")
        self.ready.emit()

    def _fail(self, message: str) -> None:
        self.failed.emit(redact(message, self.settings.llm_api_key.get()))

    def _open_speaker(self) -> None:
        if not self._use_speaker or self.engine is None:
            self.audioStatus.emit("Speaker off: replies are shown as text")
            return
        try:
            from desktop_app.media.playback import SpeakerSink

            self.speaker = SpeakerSink()
        except AppError as exc:
            self.audioStatus.emit(f"{exc}: replies are shown as text")
            return
        self.engine.add_sink(self.speaker)
        self.audioStatus.emit("Speaker ready")

    def _on_event(self, event: Event) -> None:
        if isinstance(event, AudioPacket):
            return
        if isinstance(event, TurnFinished) and self.speaker is not None:
            self.speaker.drain_started()
        self.event.emit(event)

    # ---- turns and conversations ----------------------------------------------------

    def submit(self, data: TurnInput) -> bool:
        if self.engine is None or not self.is_ready:
            return False
        self.engine.submit(data)
        return True

    def cancel(self) -> bool:
        return self.engine.cancel() if self.engine is not None else False

    @property
    def busy(self) -> bool:
        turn = self.engine.current if self.engine is not None else None
        return turn is not None and not turn.done

    def new_conversation(self) -> Conversation | None:
        return self.engine.new_conversation() if self.engine is not None else None

    def open_conversation(self, conversation_id: str) -> Conversation | None:
        return self.engine.open_conversation(conversation_id) if self.engine is not None else None

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
        if self.engine is not None:
            await self.engine.aclose()
            self.engine = None
        if self.speaker is not None:
            self.speaker.close()
            self.speaker = None
