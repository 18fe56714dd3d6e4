"""One turn: audio (or typed text) in -> ASR -> streamed LLM -> chunker -> TTS -> Opus out.

A turn is one task tree. :meth:`Turn.cancel` closes the gates at once (no audio packet
or text delta of this turn is emitted after it returns), tells every sink to drop what
it holds, cancels the tree, and the reply is stored as far as it was heard, marked
interrupted.

What was heard: when a sink reports playback (``played``, see ``core.sinks``), the
stored reply is the text of the speech chunks whose audio started playing. Rule: a
chunk cut mid-way counts as heard in full (chunks are a clause or a sentence, and the
listener has heard where it was going); a chunk none of whose audio played is dropped.
When no sink reports playback (files, tests), the reply is kept as far as it was
delivered, as before. The same applies when a finished turn's audio is still playing
and is stopped (:meth:`Turn.stop_playback`).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable

import numpy as np

from desktop_app.core.chunker import SpeechChunk, SpeechChunker
from desktop_app.core.conversation import Conversation, TurnRecord
from desktop_app.core.end_of_turn import EndOfTurnModel
from desktop_app.core.events import (
    AudioPacket,
    ChunkSpoken,
    Event,
    MetricsReady,
    NoSpeech,
    ReplyDelta,
    Transcript,
    TurnCancelled,
    TurnError,
    TurnFinished,
    TurnStarted,
    ViewGiven,
)
from desktop_app.core.first_audio import model_held_until_first_packet
from desktop_app.core.metrics import TurnMetrics, now_ms
from desktop_app.core.model_wait import WaitingForModel, announce_wait
from desktop_app.core.ports import ChatModel, Message, SpeechRecognizer, SpeechSynthesizer, TextReader, VoiceActivity
from desktop_app.core.prepared_reply import PreparedReply
from desktop_app.core.sight import View
from desktop_app.core.sinks import AudioSink, last_played
from desktop_app.core.utterance import Utterance
from desktop_app.errors import AppError
from desktop_app.core.opus_packets import packet_duration_ms


@dataclass(frozen=True)
class TurnInput:
    audio: np.ndarray | None = None  # 16 kHz mono float32, the whole utterance
    utterance: Utterance | None = None  # or: live audio already being transcribed
    text: str = ""  # typed text (alone, or added after the transcript)
    image_jpeg: bytes | None = None
    end_of_speech_ms: float | None = None  # perf-counter ms when the user stopped talking


@dataclass(frozen=True)
class Backends:
    asr: SpeechRecognizer
    llm: ChatModel
    tts: SpeechSynthesizer
    vad: VoiceActivity  # where the speech is (live transcription, hands-free)
    turn: EndOfTurnModel | None = None  # hands-free: has the user finished? (None: pause only)
    reader: TextReader | None = None  # OCR of the frame for models that cannot see (None: off)

    @property
    def all(self) -> tuple:
        return (self.asr, self.llm, self.tts, *(b for b in (self.turn, self.reader) if b is not None))

    async def load(self) -> None:
        """Load every model now (each in its worker thread), not at the first turn."""
        await asyncio.gather(*(backend.load() for backend in self.all))

    async def aclose(self) -> None:
        for backend in self.all:
            await backend.aclose()


class Turn:
    def __init__(
        self,
        data: TurnInput,
        backends: Backends,
        conversation: Conversation,
        system_prompt: str,
        emit: Callable[[Event], None],
        sinks: list[AudioSink],
        store_turn: Callable[[TurnRecord, bytes | None], None],
        resave: Callable[[], None] | None = None,
        view_for: Callable[[bytes | None], Awaitable[View | None]] | None = None,
        take_prepared: Callable[[list[Message], str], PreparedReply | None] | None = None,
    ) -> None:
        self.id = secrets.token_hex(4)
        self.input = data
        self.metrics = TurnMetrics()
        self.user_text = ""
        self.reply_text = ""  # delivered (streamed) so far
        self.heard_text: str | None = None  # set on interruption when sinks report playback
        self.interrupted = False
        self.record: TurnRecord | None = None
        self.view: View | None = None  # what the model got of the user's view
        self._view_for = view_for
        self._take_prepared = take_prepared  # a reply started at the user's pause, for this prompt
        self._backends = backends
        self._conversation = conversation
        self._system_prompt = system_prompt
        self._emit_event = emit
        self._sinks = sinks
        self._store_turn = store_turn
        self._resave = resave
        self._chunk_starts: list[tuple[int, str]] = []  # (first packet sequence, chunk text)
        self._open = True  # closed by cancel(): nothing of this turn goes out after
        self._packets = 0
        self._task: asyncio.Task | None = None

    # ---- control --------------------------------------------------------------------

    def start(self) -> asyncio.Task:
        self._task = asyncio.create_task(self._run(), name=f"turn-{self.id}")
        return self._task

    async def wait(self) -> None:
        if self._task is None:
            return
        try:
            await asyncio.shield(self._task)
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # the waiter itself was cancelled
            # cancelled before it ever ran: nothing was said, nothing to store

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    def cancel(self) -> None:
        """Stop now: no more packets or deltas, sinks flushed, tree cancelled."""
        if not self._open or self.done:
            return
        self._open = False
        self.interrupted = True
        self.heard_text = self._heard()
        for sink in self._sinks:
            sink.flush()
        if self._task is not None:
            self._task.cancel()

    @property
    def playing(self) -> bool:
        """Sinks that report playback still hold audio of this turn not yet started."""
        if self.interrupted or self._packets == 0:
            return False
        last = last_played(self._sinks, self.id)
        return last is not None and last < self._packets - 1

    def stop_playback(self) -> bool:
        """The turn is over but its audio still plays from the sinks' buffers: stop it.

        The stored reply is truncated to what was heard, marked interrupted, saved again,
        and :class:`TurnCancelled` is emitted. False when there was nothing to stop.
        """
        if not self.done or not self.playing:
            return False
        self.interrupted = True
        self.heard_text = self._heard()
        for sink in self._sinks:
            sink.flush()
        if self.record is not None:
            self.record.reply_text = self.stored_reply
            self.record.interrupted = True
            if self._resave is not None:
                self._resave()
        self._emit_event(TurnCancelled(self.id, self.reply_text))
        return True

    @property
    def stored_reply(self) -> str:
        """The reply as the conversation keeps it: heard text when known, else delivered."""
        return self.heard_text if self.heard_text is not None else self.reply_text

    def _heard(self) -> str | None:
        last = last_played(self._sinks, self.id)
        if last is None:
            return None
        return " ".join(text for first, text in self._chunk_starts if first <= last)

    # ---- emitting -------------------------------------------------------------------

    def _emit(self, event: Event) -> None:
        if self._open:
            self._emit_event(event)

    def _emit_packet(self, data: bytes) -> None:
        if not self._open:
            return
        packet = AudioPacket(self.id, self._packets, data)
        self._packets += 1
        self.metrics.audio_ms += packet_duration_ms(data)
        for sink in self._sinks:
            sink.write(packet)
        self._emit_event(packet)

    # ---- the pipeline ---------------------------------------------------------------

    async def _run(self) -> None:
        t0 = self.input.end_of_speech_ms if self.input.end_of_speech_ms is not None else now_ms()
        self._emit(TurnStarted(self.id, self.input.text or None))
        stage = "asr"
        # the frame's text (OCR) is read while the words are recognized, when not already
        view_task = None
        if self._view_for is not None:
            view_task = asyncio.ensure_future(self._view_for(self.input.image_jpeg))
        try:
            self.user_text = await self._recognize()
            if not self.user_text:  # nothing is stored; faces still learn that the turn is over
                self._emit(NoSpeech(self.id))
                self._emit(TurnFinished(self.id, "", "", False, 0.0, self.metrics))
                return
            self._emit(Transcript(self.id, self.user_text))
            if view_task is not None:
                waited = now_ms()
                self.view = await view_task
                self.metrics.view_wait_ms = now_ms() - waited
                if self.view is not None:
                    self._emit(ViewGiven(self.id, self.view))
            stage = "llm"
            await self._reply(t0)
        except asyncio.CancelledError:
            if self._open:  # cancelled from outside, not through cancel()
                self.cancel()
            self._finish(error="")
            self._emit_event(TurnCancelled(self.id, self.reply_text))
            self._emit_event(TurnFinished(self.id, self.user_text, self.stored_reply, True, self.metrics.audio_ms, self.metrics))
            return
        except AppError as exc:
            self._emit(TurnError(self.id, str(exc), stage))
            self._finish(error=str(exc))
            cut = self.interrupted or bool(self.reply_text)  # a reply cut short by the failure, as stored
            self._emit(TurnFinished(self.id, self.user_text, self.stored_reply, cut, self.metrics.audio_ms, self.metrics))
            return
        finally:
            if view_task is not None and not view_task.done():
                view_task.cancel()
        self._finish(error="")
        self._emit(MetricsReady(self.id, self.metrics))
        self._emit(TurnFinished(self.id, self.user_text, self.stored_reply, False, self.metrics.audio_ms, self.metrics))

    async def _recognize(self) -> str:
        parts = []
        if self.input.utterance is not None:
            started = now_ms()
            text = await self.input.utterance.finish()
            self.metrics.asr_ms = now_ms() - started
            if text:
                parts.append(text)
        elif self.input.audio is not None:
            started = now_ms()
            result = await self._backends.asr.transcribe(self.input.audio)
            self.metrics.asr_ms = now_ms() - started
            if result.text:
                parts.append(result.text)
        if self.input.text.strip():
            parts.append(self.input.text.strip())
        return " ".join(parts)

    async def _reply(self, t0: float) -> None:
        llm = self._backends.llm
        image = self.input.image_jpeg if llm.vision else None
        messages = self._conversation.to_messages(self._system_prompt, self.user_text, image, self.view)
        chunks: asyncio.Queue[SpeechChunk | None] = asyncio.Queue()
        chunker = SpeechChunker()
        started = now_ms()
        prepared = self._take_prepared(messages, self.user_text) if self._take_prepared is not None else None
        if prepared is not None:
            self.metrics.reply_prepared_ms = started - prepared.started_ms

        def queue_chunks(new: list[SpeechChunk]) -> None:
            for chunk in new:
                if self.metrics.first_chunk_ms is None:
                    self.metrics.first_chunk_ms = now_ms() - started
                chunks.put_nowait(chunk)

        async def generate() -> None:
            try:
                waiting = lambda waited_s: self._emit(WaitingForModel(self.id, llm.name, waited_s))  # noqa: E731
                replies = prepared.deltas() if prepared is not None else llm.stream(messages)
                async for delta in announce_wait(replies, waiting):
                    if not self._open:  # cancelled: what still comes was never shown, so never delivered
                        break
                    if self.metrics.llm_ttft_ms is None:
                        self.metrics.llm_ttft_ms = now_ms() - started
                    self.metrics.llm_tokens += 1
                    self.reply_text += delta
                    self._emit(ReplyDelta(self.id, delta))
                    queue_chunks(chunker.feed(delta))
                queue_chunks(chunker.flush())
                self.metrics.llm_ms = now_ms() - started
            finally:
                chunks.put_nowait(None)

        async def speak() -> None:
            tts = self._backends.tts
            while (chunk := await chunks.get()) is not None:
                chunk_started = now_ms()
                chunk_audio = 0.0
                first = True
                if prepared is not None and chunk == prepared.first_chunk:
                    packets = prepared.first_audio()  # synthesized at the pause, the model held then
                else:
                    # the first audio is what the user waits for: a local voice gets the CPU
                    hold = self._packets == 0 and tts.runs_locally
                    packets = model_held_until_first_packet(tts.synthesize(chunk.text), llm, hold)
                async for packet in packets:
                    if first and self._open:
                        self._chunk_starts.append((self._packets, chunk.text))
                        first = False
                    if self._packets == 0:
                        self.metrics.tts_first_audio_ms = now_ms() - chunk_started
                        self.metrics.v2v_ms = now_ms() - t0
                    chunk_audio += packet_duration_ms(packet)
                    self._emit_packet(packet)
                self._emit(ChunkSpoken(self.id, chunk.index, chunk.text, chunk_audio))

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(generate())
                group.create_task(speak())
        except BaseExceptionGroup as group_error:
            raise _first_error(group_error) from None
        finally:
            if prepared is not None:
                prepared.cancel()  # (done already, unless the turn was stopped)

    def _finish(self, error: str) -> None:
        if not self.user_text:
            return
        self.record = TurnRecord(
            user_text=self.user_text,
            reply_text=self.stored_reply,
            interrupted=self.interrupted or bool(error and self.reply_text),
            error=error,
            metrics=self.metrics.as_dict(),
        )
        if self.view is not None:
            self.record.view = self.view.describe()
            self.record.view_text = self.view.text
            self.record.view_note = self.view.block()
        self._store_turn(self.record, self.input.image_jpeg)


def _first_error(group: BaseExceptionGroup) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        return exc
    return group
