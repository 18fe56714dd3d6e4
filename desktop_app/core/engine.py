"""The engine: backends, the current conversation, sinks and the event bus.

Faces (GUI, browser server, CLI) create one Engine, subscribe to its events, attach
audio sinks, and call :meth:`Engine.submit` with a finished utterance or typed text.
Only one turn runs at a time: a new one interrupts the one still talking.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Callable

from desktop_app.core.conversation import Conversation, ConversationStore, TurnRecord
from desktop_app.core.events import Event, EventBus, Listener
from desktop_app.core.sinks import AudioSink
from desktop_app.core.turn import Backends, Turn, TurnInput
from desktop_app.core.utterance import Utterance

log = logging.getLogger(__name__)


class Engine:
    def __init__(
        self,
        backends: Backends,
        store: ConversationStore,
        system_prompt: str,
        conversation: Conversation | None = None,
    ) -> None:
        self.backends = backends
        self.store = store
        self.system_prompt = system_prompt
        self.conversation = conversation or Conversation()
        self.events = EventBus()
        self.sinks: list[AudioSink] = []
        self.current: Turn | None = None

    # ---- wiring ---------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.events.subscribe(listener)

    def add_sink(self, sink: AudioSink) -> None:
        self.sinks.append(sink)

    def remove_sink(self, sink: AudioSink) -> None:
        if sink in self.sinks:
            self.sinks.remove(sink)

    async def warm_up(self) -> None:
        """Load every model now (in their worker threads), not at the first turn."""
        await self.backends.load()

    # ---- conversations --------------------------------------------------------------

    def new_conversation(self) -> Conversation:
        self.cancel()
        self.conversation = Conversation()
        return self.conversation

    def open_conversation(self, conversation_id: str) -> Conversation:
        self.cancel()
        self.conversation = self.store.load(conversation_id)
        return self.conversation

    def _store_turn(self, record: TurnRecord, image_jpeg: bytes | None) -> None:
        if image_jpeg:
            record.image_file = self.store.save_image(self.conversation, len(self.conversation.turns), image_jpeg)
        self.conversation.turns.append(record)
        self.store.save(self.conversation)

    # ---- live speech ----------------------------------------------------------------

    def start_utterance(self) -> Utterance:
        """Begin capturing speech (push-to-talk pressed). Feed it PCM; submit it on release.

        While the user talks, the known words are handed to the LLM so it evaluates the
        prompt early (llama.cpp keeps it in its cache); release only adds the tail.
        """
        return Utterance(self.backends.asr, on_partial=self._prime_llm)

    def _prime_llm(self, partial_text: str) -> None:
        messages = self.conversation.to_messages(self.system_prompt, partial_text)
        task = asyncio.ensure_future(self.backends.llm.prime(messages))
        task.add_done_callback(_log_failure)

    # ---- turns ----------------------------------------------------------------------

    def submit(self, data: TurnInput) -> Turn:
        """Start a turn (interrupting the current one, if any)."""
        self.cancel()
        conversation = self.conversation
        turn = Turn(
            data,
            self.backends,
            conversation,
            self.system_prompt,
            self._emit,
            list(self.sinks),
            self._store_turn,
            resave=lambda: self.store.save(conversation),
        )
        self.current = turn
        turn.start()
        return turn

    async def run_turn(self, data: TurnInput) -> Turn:
        turn = self.submit(data)
        await turn.wait()
        return turn

    def cancel(self) -> bool:
        """Interrupt the assistant: the running turn, or the reply audio still playing.

        Synchronous: sinks are flushed before this returns. When sinks report playback,
        the stored reply is cut to what was heard. True when something was stopped.
        """
        turn = self.current
        if turn is None:
            return False
        if turn.done:
            return turn.stop_playback()
        turn.cancel()
        return True

    @property
    def speaking(self) -> bool:
        """The assistant is busy: a turn runs, or its reply is still playing."""
        turn = self.current
        return turn is not None and (not turn.done or turn.playing)

    def _emit(self, event: Event) -> None:
        self.events.emit(event)

    async def aclose(self) -> None:
        if self.current is not None and not self.current.done:
            self.current.cancel()
            try:
                await self.current.wait()
            except asyncio.CancelledError:
                pass
        await self.backends.aclose()


def default_store(data_dir: Path) -> ConversationStore:
    return ConversationStore(data_dir / "conversations")


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("prompt pre-evaluation failed: %s", task.exception())
