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
from desktop_app.core.events import Event, EventBus, Listener, TurnError
from desktop_app.core.frame_text import FrameText, Reading
from desktop_app.core.metrics import now_ms
from desktop_app.core.ports import Message
from desktop_app.core.prepared_reply import PreparedReply
from desktop_app.core.sight import View, system_prompt as sight_prompt
from desktop_app.core.sinks import AudioSink
from desktop_app.core.turn import Backends, Turn, TurnInput
from desktop_app.core.utterance import Utterance

log = logging.getLogger(__name__)

# After its words are known, a turn waits at most this long for the text in view (a busy
# machine can slow the reading down a lot); then the model is told it could not be read.
MAX_VIEW_WAIT_S = 4.0
# The text a camera shows rarely changes within seconds: a camera frame offered for
# reading this recently is the view when the user starts talking (hands-free reads one
# as each reply ends, :meth:`Engine.glance`, so its turns do not wait for the OCR). A
# screen is read afresh at every turn: one changed line there is a different answer.
CAMERA_READING_FRESH_S = 8.0


class Engine:
    def __init__(
        self,
        backends: Backends,
        store: ConversationStore,
        system_prompt: str,
        conversation: Conversation | None = None,
        *,
        view_text_with_image: bool = False,
        prepare_replies: bool = True,
    ) -> None:
        self._backends = backends
        self._store = store
        self._base_prompt = system_prompt
        self._conversation = conversation or Conversation()
        self.events = EventBus()
        self._sinks: list[AudioSink] = []
        self._current: Turn | None = None
        self._tasks: set[asyncio.Task] = set()  # prompt pre-evaluations, awaited on close
        # the user's view: what the frames show ("camera", "screen", ...), read by OCR
        # for a model that cannot see them (and, when asked, along with the image)
        self._frame_text = FrameText(backends.reader, self._reading_landed) if backends.reader is not None else None
        self._view_source = "camera"
        self._view_text_with_image = view_text_with_image
        self._looking = False  # the last utterance came with a frame
        self._looked_at: float | None = None  # when it did (readings since then are current)
        self._primed_words: str | None = None  # the words the LLM was last primed with, until the turn
        self._settled = False  # those words are all the user said so far (a pause was transcribed)
        # A reply started at the user's pause (core.prepared_reply), for a local model
        self._prepare_replies = prepare_replies
        self._prepared: PreparedReply | None = None

    # ---- state (read-only: faces change it through the methods below) ------------------

    @property
    def backends(self) -> Backends:
        return self._backends

    @property
    def store(self) -> ConversationStore:
        return self._store

    @property
    def conversation(self) -> Conversation:
        """The conversation new turns go into."""
        return self._conversation

    @property
    def sinks(self) -> tuple[AudioSink, ...]:
        return tuple(self._sinks)

    @property
    def current(self) -> Turn | None:
        """The latest turn (running, or finished with its audio perhaps still playing)."""
        return self._current

    @property
    def system_prompt(self) -> str:
        """The system prompt as the model gets it (a blind model is told it cannot see)."""
        return sight_prompt(self._base_prompt, self.backends.llm.vision)

    # ---- wiring ---------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.events.subscribe(listener)

    def add_sink(self, sink: AudioSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: AudioSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    async def warm_up(self) -> None:
        """Load every model now (in their worker threads), not at the first turn."""
        await self.backends.load()

    # ---- conversations --------------------------------------------------------------

    def new_conversation(self) -> Conversation:
        self.cancel()
        self._drop_prepared()
        self._conversation = Conversation()
        return self._conversation

    def open_conversation(self, conversation_id: str) -> Conversation:
        return self.continue_conversation(self.store.load(conversation_id))

    def continue_conversation(self, conversation: Conversation) -> Conversation:
        """New turns go into ``conversation`` (loaded already, or another engine's)."""
        self.cancel()
        self._drop_prepared()
        self._conversation = conversation
        return conversation

    def _store_turn(self, record: TurnRecord, image_jpeg: bytes | None, turn_id: str = "") -> None:
        """Keep the turn and save the conversation. A failed write (disk full, read-only)
        is one line to the user (TurnError, stage "save"); the file on disk stays the
        previous one, and the turn stays in memory: the next save that works writes it."""
        try:
            if image_jpeg:
                record.image_file = self.store.save_image(self.conversation, len(self.conversation.turns), image_jpeg)
        except OSError:
            pass  # the conversation's own save below fails too, or saves it without the picture
        self.conversation.turns.append(record)
        self._save(self.conversation, turn_id)

    def _save(self, conversation: Conversation, turn_id: str = "") -> None:
        try:
            self.store.save(conversation)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            message = f"could not save the conversation to {self.store.path_of(conversation.id)}: {reason}"
            self._emit(TurnError(turn_id, message, "save"))

    # ---- live speech ----------------------------------------------------------------

    def start_utterance(self) -> Utterance:
        """Begin capturing speech (push-to-talk pressed). Feed it PCM; submit it on release.

        While the user talks, the known words are handed to the LLM so it evaluates the
        prompt early (llama.cpp keeps it in its cache); release only adds the tail. When
        the user pauses, a local model starts the reply itself (:meth:`_prepare_reply`).
        """
        return Utterance(
            self.backends.asr,
            self.backends.vad,
            on_partial=self._prime_llm,
            on_settled=self._prepare_reply,
            on_unsettled=self._unsettled,
        )

    def _prime_llm(self, partial_text: str) -> None:
        self._drop_prepared()  # the words grew: a reply started on fewer is no use
        self._primed_words = partial_text
        self._settled = False
        if not self._view_pending():  # else the reading primes as it lands
            self._prime(self._primed_messages(partial_text))

    def _unsettled(self) -> None:
        self._settled = False
        self._drop_prepared()

    def _view_pending(self) -> bool:
        """The text in view is being read: a prompt made now would carry the wrong note
        (or none), and evaluating it would take the cores from the reading. On two cores
        such a prime at the press cost 300-400 ms of both, for a prompt no turn used."""
        return self._looking and self.reads_view and self._frame_text.reading

    def _primed_messages(self, words: str) -> list[Message]:
        return self.conversation.to_messages(self.system_prompt, words, view=self._primed_view())

    def _prepare_reply(self, words: str) -> None:
        """The user paused and ``words`` is all they said: start the reply now, unseen
        (core.prepared_reply). The turn takes it over if its prompt is the same; more
        speech drops it. A remote or seeing model is only primed."""
        self._drop_prepared()
        self._primed_words = words
        self._settled = True
        if self._view_pending():
            return  # begun when the reading lands (_reading_landed), with its note
        llm = self.backends.llm
        if not (self._prepare_replies and llm.runs_locally and not llm.vision):
            self._prime(self._primed_messages(words))
            return
        self._prepared = PreparedReply(llm, self.backends.tts, self._primed_messages(words), words)

    def _drop_prepared(self) -> None:
        prepared, self._prepared = self._prepared, None
        if prepared is not None:
            prepared.cancel()

    def _take_prepared(self, messages: list[Message], words: str) -> PreparedReply | None:
        """The turn's prompt is ``messages``: the reply prepared for exactly it, if any."""
        prepared, self._prepared = self._prepared, None
        if prepared is None:
            return None
        if prepared.messages == messages:
            return prepared
        prepared.cancel()
        if prepared.words != words:
            changed = "the words"
        elif prepared.messages[:-1] != messages[:-1]:
            changed = "the conversation"
        else:
            changed = "the view"
        log.info("the reply begun at the pause is not used: %s changed since", changed)
        return None

    def _turn_ended(self, turn: Turn) -> None:
        """The reply is written (it may still play): evaluate the conversation so far now,
        so the next turn's prompt adds only its own note and words. Without this the last
        exchange was evaluated in the next turn's first token, or in priming that competes
        with live transcription (window push-to-talk: first token 0.8-1.4 s instead of
        ~0.14 s on 2 cores)."""
        if self._current is turn and turn.record is not None and turn.record.reply_text:
            self._prime(self.conversation.to_messages(self.system_prompt, ""))

    def _prime(self, messages: list) -> None:
        task = asyncio.ensure_future(self.backends.llm.prime(messages))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    def _reading_landed(self, _reading: Reading | None) -> None:
        """The text in view was read while the user talks: prime again with it, so the
        turn's prompt (its view note before the words) is in the cache at the release;
        after a pause, begin the reply with it."""
        if not self._looking or self._view_pending():
            return  # nothing in view, or a newer reading comes
        if self._primed_words is None:  # no one talks: a glance (a reply has just played)
            if self._current is None or self._current.done:  # (never behind a running turn)
                self._prime(self._primed_messages(""))  # the next turn's note, before its words
            return
        if not self._settled:
            self._prime_llm(self._primed_words)
        elif self._prepared is None or self._prepared.messages != self._primed_messages(self._primed_words):
            self._prepare_reply(self._primed_words)  # (again) with the text now in view

    # ---- the user's view --------------------------------------------------------------

    def set_view_source(self, source: str) -> None:
        """What the frames show, in the model's words: "camera", "screen", "window", ..."""
        self._view_source = source

    @property
    def view_source(self) -> str:
        return self._view_source

    def look(self, jpeg: bytes | None) -> None:
        """The user starts talking with this frame in view (None: nothing in view): read
        its text now, in the background, so the turn finds it ready (a model that can see
        needs nothing). Call it whether or not frames are read: what is in view decides
        the note the prompt is primed with."""
        self._looking = jpeg is not None
        if jpeg is not None and self._frame_text is not None and self.reads_view:
            recent = self._recent_camera_offer()
            if recent is not None:
                self._looked_at = recent  # that reading is this view (finished, or in flight)
            else:
                self._looked_at = now_ms()
                self._frame_text.look(jpeg)
        if self._looking and self._primed_words is None:
            # The turn's note goes before its words: evaluate it now, not at the release
            # (a short question gets no partial transcript before it). A reading that
            # lands later primes again (:meth:`_reading_landed`).
            self._prime_llm("")

    def glance(self, jpeg: bytes | None) -> None:
        """Read a camera's view ahead of the user's next words (hands-free, as a reply
        ends): when they start talking within :data:`CAMERA_READING_FRESH_S`, :meth:`look`
        finds it read. Nothing unless :attr:`wants_glance`."""
        if jpeg and self.wants_glance:
            self._looking = True  # its note is evaluated as it lands (:meth:`_reading_landed`)
            self._frame_text.look(jpeg)

    @property
    def wants_glance(self) -> bool:
        """:meth:`glance` would read a frame: a camera's text is read (other sources are
        read at the turn). Ask first: getting a frame costs a face an encode."""
        return self._frame_text is not None and self.reads_view and self._view_source == "camera"

    def _recent_camera_offer(self) -> float | None:
        if self._view_source != "camera" or self._frame_text is None:
            return None
        offered = self._frame_text.last_offered_ms
        if offered is None or now_ms() - offered > CAMERA_READING_FRESH_S * 1000:
            return None
        return offered

    @property
    def last_reading(self) -> Reading | None:
        """The freshest text read from the view (None: nothing read yet, or OCR is off)."""
        return self._frame_text.latest if self._frame_text is not None else None

    @property
    def reads_view(self) -> bool:
        """Frames are read for their text (OCR): worth handing one to :meth:`look`."""
        return self._frame_text is not None and (not self.backends.llm.vision or self._view_text_with_image)

    async def _view_for(self, jpeg: bytes | None, fresh_since_ms: float | None = None) -> View | None:
        """What the model gets of this frame: the image, its text, or a note that it cannot see."""
        source = self._view_source
        vision = self.backends.llm.vision
        if jpeg is None:  # nothing in view: the system prompt already says the model cannot see
            return None
        if vision and not self._view_text_with_image:
            return View(source, "image")
        reading = None
        if self._frame_text is not None:
            try:  # the reading runs on; a later turn may use it
                reading = await asyncio.wait_for(asyncio.shield(self._frame_text.reading_for(jpeg, fresh_since_ms)), MAX_VIEW_WAIT_S)
            except asyncio.TimeoutError:
                log.warning("the text in view was not read within %.0f s: the turn goes on without it", MAX_VIEW_WAIT_S)
                return View(source, "image") if vision else View(source, "late")
        if vision:
            return View(source, "image", reading.text if reading is not None else "")
        if reading is None:
            return View(source, "nothing")
        return View(source, "text", reading.text) if reading.text else View(source, "no text")

    def _primed_view(self) -> View | None:
        """The view the coming turn will most likely get, so the primed prompt matches it."""
        if self.backends.llm.vision or not self._looking:
            return None
        reading = self.last_reading
        if self._frame_text is None:
            return View(self._view_source, "nothing")
        if reading is None:
            return None
        return View(self._view_source, "text", reading.text) if reading.text else View(self._view_source, "no text")

    # ---- turns ----------------------------------------------------------------------

    def submit(self, data: TurnInput) -> Turn:
        """Start a turn (interrupting the current one, if any)."""
        self.cancel()
        conversation = self.conversation
        looked_at, self._looked_at = self._looked_at, None  # the view as the user started talking
        self._primed_words = None
        self._settled = False
        turn = Turn(
            data,
            self.backends,
            conversation,
            self.system_prompt,
            self._emit,
            list(self._sinks),
            lambda record, image: self._store_turn(record, image, turn.id),
            resave=lambda: self._save(conversation, turn.id),
            view_for=lambda jpeg: self._view_for(jpeg, looked_at),
            take_prepared=self._take_prepared,
        )
        self._current = turn
        turn.start().add_done_callback(lambda _task: self._turn_ended(turn))
        return turn

    async def run_turn(self, data: TurnInput) -> Turn:
        turn = self.submit(data)
        await turn.wait()
        return turn

    def cancel(self) -> bool:
        """Interrupt the assistant: the one way every face stops it (Stop, Esc, a press,
        barge-in, a new turn, a new conversation).

        * A running turn: no packet or text of it goes out after this returns (its gate
          closes first); every sink is flushed (the speaker and the browser track drop
          what they hold); its task tree is cancelled; the turn is stored with the reply
          as far as it was heard (sinks that report playback) or delivered, marked
          interrupted; ``TurnCancelled`` then ``TurnFinished`` follow.
        * A finished turn whose audio still plays: the sinks are flushed, the stored
          reply is cut to what was heard, marked interrupted and saved again;
          ``TurnCancelled`` follows.
        * Nothing to stop: nothing happens.

        Synchronous. True when something was stopped. A held push-to-talk press is the
        capture's (``SpeechCapture.discard``), not the engine's.
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

    async def aclose(self, close_backends: bool = True) -> None:
        """Stop the running turn, the engine's own tasks (prompt pre-evaluation, reading
        the view) and, unless they are shared (a browser session's), the backends."""
        self._drop_prepared()
        if self._current is not None and not self._current.done:
            self._current.cancel()
            try:
                await self._current.wait()
            except asyncio.CancelledError:
                pass
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._frame_text is not None:
            await self._frame_text.aclose()
        if close_backends:
            await self.backends.aclose()


def default_store(data_dir: Path) -> ConversationStore:
    return ConversationStore(data_dir / "conversations")


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("prompt pre-evaluation failed: %s", task.exception())
