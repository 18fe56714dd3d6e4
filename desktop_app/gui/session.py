"""The engine as seen by the window: built and warmed in the background, events as signals.

The engine runs on the qasync loop (the GUI thread); its models run in their own worker
threads. Engine events are emitted on the loop thread, so they reach widgets directly.

New settings apply without a restart (:meth:`WindowSession.apply_settings`): a new engine is
built and warmed in the background while the old one keeps serving; only when the new
one is ready does it take over, with the same conversation. On failure the old engine
stays and one line says why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Awaitable, Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.conversation import Conversation
from desktop_app.core.engine import Engine
from desktop_app.core.events import AudioPacket, Event, TurnFinished
from desktop_app.core.turn import Backends, TurnInput
from desktop_app.errors import AppError, redact

log = logging.getLogger(__name__)

# Settings only the window uses: changing them needs no new engine.
WINDOW_ONLY = frozenset(
    {
        "audio_input_device",
        "audio_output_device",
        "push_to_talk_key",
        "close_microphone_when_hidden",
        "llm_api_key_in_keyring",
        "hands_free",
        "turn_pause_ms",
        "barge_in",
        "echo_cancellation",
    }
)
RETIRE_TIMEOUT_S = 30  # a reply still streaming may finish before the switch; then it is cut


def needs_new_engine(old: Settings, new: Settings) -> bool:
    return any(
        getattr(old, f.name) != getattr(new, f.name) for f in dataclasses.fields(Settings) if f.name not in WINDOW_ONLY
    )


class ProgressRelay(QObject):
    """A ``Progress`` callable usable from any thread: it forwards through a queued signal."""

    progress = Signal(str, float)

    def __call__(self, what: str, fraction: float) -> None:
        self.progress.emit(what, fraction)


class WindowSession(QObject):
    """This computer's engine as the window holds it: started, swapped on new settings, its speaker."""

    event = Signal(object)  # every engine event except audio packets
    status = Signal(str)  # one line for the status bar
    ready = Signal()  # models loaded: turns can start
    failed = Signal(str)  # the engine could not start (one line)
    audioStatus = Signal(str)  # speaker availability
    engineChanged = Signal()  # apply_settings swapped in a new engine

    def __init__(self, settings: Settings, paths: AppPaths, use_speaker: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.paths = paths
        self.engine: Engine | None = None
        self.is_ready = False
        self.speaker = None
        self._playback_tap: Callable[[np.ndarray, int], None] | None = None
        self._use_speaker = use_speaker
        self._relay = ProgressRelay(self)
        self._relay.progress.connect(lambda what, f: self.status.emit(f"{what} {f * 100:.0f}%"))
        self._task: asyncio.Task | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.applying = False
        self._speaker_watch = QTimer(self)  # a speaker unplugged mid-reply: one line, reopened when back
        self._speaker_watch.setInterval(1000)
        self._speaker_watch.timeout.connect(self._watch_speaker)
        self._speaker_lost = False

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
            self._unsubscribe = engine.subscribe(self._on_event)
            if log.isEnabledFor(logging.INFO):  # -v: what competes with the LLM in the window
                from desktop_app.bench.thread_cpu import TurnCpuLog

                engine.subscribe(TurnCpuLog(log, "window turn"))
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

    def _open_speaker(self, quiet: bool = False) -> None:
        """Open the speaker; ``quiet``: a retry after it was lost, which says nothing when
        it fails again (the line saying it is gone stays)."""
        if not self._use_speaker or self.engine is None:
            self.audioStatus.emit("Speaker off: replies are shown as text")
            return
        try:
            from desktop_app.media.devices import device_arg
            from desktop_app.media.playback import SpeakerSink

            self.speaker = SpeakerSink(device_arg(self.settings.audio_output_device), on_played=self._playback_tap)
        except AppError as exc:
            if not quiet:
                self.audioStatus.emit(f"{exc}: replies are shown as text")
            return
        self.engine.add_sink(self.speaker)
        self._speaker_lost = False
        self._speaker_watch.start()
        self.audioStatus.emit("Speaker ready")

    def _watch_speaker(self) -> None:
        """Every second: a speaker whose device went away (unplugged) is closed with one
        line (replies go on as text), and opened again once a device is back."""
        if self._speaker_lost:
            self._open_speaker(quiet=True)
            return
        if self.speaker is None or self.speaker.alive:
            return
        log.warning("the speaker stopped playing: its device is gone")
        if self.engine is not None:
            self.engine.remove_sink(self.speaker)
        self.speaker.close()
        self.speaker = None
        self._speaker_lost = True
        self.audioStatus.emit("\u26a0 The speaker is gone (unplugged?): replies are shown as text until it is back")

    def set_playback_tap(self, tap: Callable[[np.ndarray, int], None] | None) -> None:
        """Receive every block the speaker plays (the echo canceller's reference), from
        the audio thread; kept across speaker changes."""
        self._playback_tap = tap
        if self.speaker is not None:
            self.speaker.on_played = tap

    def _on_event(self, event: Event) -> None:
        if isinstance(event, AudioPacket):
            return
        if isinstance(event, TurnFinished) and self.speaker is not None:
            self.speaker.drain_started()
        self.event.emit(event)

    # ---- new settings ---------------------------------------------------------------

    async def apply_settings(
        self, settings: Settings, before_retire: Callable[[Backends], Awaitable[None]] | None = None
    ) -> bool:
        """Use ``settings`` from now on. True when applied; False: the old engine stays.

        ``before_retire`` runs with the new backends just before the old engine closes
        (the Host switch moves its server over to them).
        """
        if self.applying:
            self.status.emit("\u26a0 Settings are still being applied: try again in a moment")
            return False
        old = self.engine
        if old is None or not self.is_ready:
            if self._task is not None and not self._task.done():
                self.status.emit("\u26a0 Models are still loading: save the settings again once they are ready")
                return False
            self.settings = settings  # the first start failed: try again with these
            self.start()
            return True
        output_changed = settings.audio_output_device != self.settings.audio_output_device
        if not needs_new_engine(self.settings, settings):
            self.settings = settings
            if output_changed:
                self._reopen_speaker()
            self.status.emit("Settings saved")
            return True
        self.applying = True
        try:
            new = await self._build(settings, old)
            if new is None:
                return False
            await self._wait_for_reply(old)
            unsubscribe_old = self._swap(old, new, settings, output_changed)
            if before_retire is not None:
                try:
                    await before_retire(new.backends)
                except Exception:
                    log.exception("moving to the new backends failed")
            await old.aclose()  # the cut turn's last events still reach the window
            if unsubscribe_old is not None:
                unsubscribe_old()
        finally:
            self.applying = False
        self.engineChanged.emit()
        b = new.backends
        self.status.emit(f"Ready \u00b7 speech {b.asr.name} \u00b7 language {b.llm.name} \u00b7 voice {b.tts.name}")
        return True

    async def _build(self, settings: Settings, old: Engine) -> Engine | None:
        new: Engine | None = None
        try:
            self.status.emit("Applying settings: preparing models...")
            new = await asyncio.to_thread(make_engine, settings, self.paths, self._relay, old.conversation)
            b = new.backends
            self.status.emit(f"Applying settings: loading speech {b.asr.name}, language {b.llm.name}, voice {b.tts.name}...")
            await new.warm_up()
            return new
        except Exception as exc:
            detail = str(exc) if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
            line = redact(f"Settings not applied, still using the previous models: {detail}", settings.llm_api_key.get(), self.settings.llm_api_key.get())
            line = " ".join(line.split())
            log.warning("%s", line)  # redacted: never the key
            self.status.emit(f"\u26a0 {line}")
            if new is not None:
                try:
                    await new.aclose()
                except Exception:
                    log.exception("closing the unused engine failed")
            return None

    async def _wait_for_reply(self, old: Engine) -> None:
        turn = old.current
        if turn is not None and not turn.done:
            self.status.emit("Applying settings: waiting for the reply to finish...")
            try:
                await asyncio.wait_for(turn.wait(), timeout=RETIRE_TIMEOUT_S)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass

    def _swap(self, old: Engine, new: Engine, settings: Settings, output_changed: bool) -> Callable[[], None] | None:
        """Synchronous, so no turn can start on the old engine in between."""
        old.cancel()
        unsubscribe_old = self._unsubscribe
        new.continue_conversation(old.conversation)  # a conversation opened meanwhile
        self.engine = new
        self.settings = settings
        self._unsubscribe = new.subscribe(self._on_event)
        if self.speaker is not None:
            old.remove_sink(self.speaker)
            if output_changed:
                self._reopen_speaker()
            else:
                new.add_sink(self.speaker)
        elif self._use_speaker:
            self._open_speaker()
        return unsubscribe_old

    def _reopen_speaker(self) -> None:
        if self.speaker is not None:
            if self.engine is not None:
                self.engine.remove_sink(self.speaker)
            self.speaker.close()
            self.speaker = None
        self._open_speaker()

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
