"""A reply started at a pause, before the user is known to be done.

When the user pauses, the words so far are most often all there is: the key is about
to be released, or hands-free is about to decide the turn is over. Waiting for that
moment, then asking the model, then synthesizing its first words, puts the three in a
row. A :class:`PreparedReply` starts the last two at the pause, out of sight: the model
streams, the first speakable chunk is synthesized, and nothing goes out (no event, no
packet, nothing stored). The turn that follows takes it over when its prompt is exactly
the one the reply was started with (same conversation, same view, same words), so its
first audio is ready, or nearly. Any other prompt, more speech, or a discarded press
drops it, which stops the model at its next token.

Only for a model on this machine: a remote one would be billed for replies nobody hears.
"""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from desktop_app.core.chunker import SpeechChunk, SpeechChunker
from desktop_app.core.first_audio import model_held_until_first_packet
from desktop_app.core.metrics import now_ms
from desktop_app.core.ports import ChatModel, Message, SpeechSynthesizer

_END = object()


class PreparedReply:
    def __init__(self, llm: ChatModel, tts: SpeechSynthesizer, messages: list[Message], words: str) -> None:
        self.messages = messages
        self.words = words  # the user's, as heard at the pause
        self.started_ms = now_ms()
        self.first_chunk: SpeechChunk | None = None  # set as soon as the model's words make it
        self._llm = llm
        self._tts = tts
        self._deltas: asyncio.Queue[object] = asyncio.Queue()
        self._packets: asyncio.Queue[object] = asyncio.Queue()
        self._synthesis: asyncio.Task | None = None
        self._task = asyncio.ensure_future(self._generate())

    # ---- taken over by a turn ---------------------------------------------------------

    def deltas(self) -> AsyncIterator[str]:
        """The reply's text: what was already written at once, then as it comes."""
        return _drain(self._deltas)

    def first_audio(self) -> AsyncIterator[bytes]:
        """The packets of :attr:`first_chunk` (synthesized already, or still being)."""
        return _drain(self._packets)

    def cancel(self) -> None:
        """Drop it: the model stops at its next token, the synthesis at its next packet."""
        self._task.cancel()
        if self._synthesis is not None:
            self._synthesis.cancel()

    @property
    def done(self) -> bool:
        return self._task.done()

    # ---- work -------------------------------------------------------------------------

    async def _generate(self) -> None:
        chunker = SpeechChunker()
        try:
            async for delta in self._llm.stream(self.messages):
                self._deltas.put_nowait(delta)
                if self.first_chunk is None:
                    self._first(chunker.feed(delta))
            if self.first_chunk is None:
                self._first(chunker.flush())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the turn that takes it over raises it, as its own would
            self._deltas.put_nowait(exc)
        finally:
            self._deltas.put_nowait(_END)
            if self.first_chunk is None:
                self._packets.put_nowait(_END)

    def _first(self, chunks: list[SpeechChunk]) -> None:
        if chunks:
            self.first_chunk = chunks[0]
            self._synthesis = asyncio.ensure_future(self._synthesize(chunks[0].text))

    async def _synthesize(self, text: str) -> None:
        packets = self._tts.synthesize(text)
        try:  # as a turn does (core.first_audio)
            async for packet in model_held_until_first_packet(packets, self._llm, self._tts.runs_locally):
                self._packets.put_nowait(packet)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._packets.put_nowait(exc)
        finally:
            self._packets.put_nowait(_END)


async def _drain(queue: asyncio.Queue[object]) -> AsyncIterator:
    while (item := await queue.get()) is not _END:
        if isinstance(item, BaseException):
            raise item
        yield item
