"""The benchmark: spoken turns fed at real-time pace through the real engine."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from desktop_app.backends.asr.base import SAMPLE_RATE
from desktop_app.core.capture import SpeechCapture
from desktop_app.core.engine import Engine
from desktop_app.core.events import AudioPacket, Event
from desktop_app.core.metrics import now_ms
from desktop_app.core.sinks import PacedSink

MIC_CHUNK = SAMPLE_RATE // 50  # 20 ms, as a microphone callback delivers it
HEARD_BEFORE_CANCEL_S = 0.3  # let some of the reply play, then interrupt it


@dataclass
class TurnSample:
    question: str
    transcript: str
    v2v_ms: float | None
    overhead_ms: float | None
    asr_ms: float | None
    llm_ttft_ms: float | None
    first_chunk_ms: float | None
    tts_first_audio_ms: float | None
    interrupt_ms: float | None
    reply_prepared_ms: float | None = None  # the reply was begun at the pause, this long before the turn asked


@dataclass
class BenchResult:
    turns: list[TurnSample] = field(default_factory=list)
    baseline_v2v_ms: list[float] = field(default_factory=list)


async def push_to_talk(capture: SpeechCapture, pcm: np.ndarray) -> asyncio.Task | None:
    """Hold the key while ``pcm`` plays into the microphone at real-time pace, then release.

    The same path as the window and the browser: :class:`SpeechCapture` (armed
    microphone, live transcription, LLM priming). Returns the task that submits the turn.
    """
    loop = asyncio.get_running_loop()
    capture.press()
    start = loop.time()
    for i, offset in enumerate(range(0, pcm.size, MIC_CHUNK)):
        capture.feed(pcm[offset : offset + MIC_CHUNK])
        await asyncio.sleep(max(0.0, start + (i + 1) * 0.020 - loop.time()))
    return capture.release()


async def forget_last_question(engine: Engine) -> None:
    """Leave only the system prompt in the LLM's cache, so no run reuses another's work."""
    engine.new_conversation()
    await engine.backends.llm.prime(engine.conversation.to_messages(engine.system_prompt, "Hello"))


async def streamed_turn(engine: Engine, sink: PacedSink, question: str, pcm: np.ndarray) -> TurnSample:
    await forget_last_question(engine)
    sink.reset_marks()
    capture = SpeechCapture(engine)
    submitting = await push_to_talk(capture, pcm)
    released = now_ms()
    turn = await submitting if submitting is not None else None
    if turn is None:
        raise RuntimeError(f"the benchmark's press was dropped: {question!r}")
    first_packet = asyncio.get_running_loop().create_future()

    def on_event(event: Event) -> None:
        if isinstance(event, AudioPacket) and not first_packet.done():
            first_packet.set_result(None)

    unsubscribe = engine.subscribe(on_event)
    interrupt_ms = None
    try:
        waiter = asyncio.ensure_future(turn.wait())
        done, _ = await asyncio.wait({first_packet, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if first_packet.done() and not turn.done:
            while sink.first_out_ms is None:
                await asyncio.sleep(0.005)
            await asyncio.sleep(HEARD_BEFORE_CANCEL_S)
            if not turn.done or sink.queued:
                cancelled_at = now_ms()
                engine.cancel()
                sink.flush()
                while sink.silent_at_ms is None:
                    await asyncio.sleep(0.002)
                interrupt_ms = sink.silent_at_ms - cancelled_at
        await waiter
    finally:
        unsubscribe()
    m = turn.metrics
    v2v = sink.first_out_ms - released if sink.first_out_ms is not None else None
    overhead = v2v - m.first_chunk_ms if v2v is not None and m.first_chunk_ms is not None else None
    return TurnSample(question, turn.user_text, v2v, overhead, m.asr_ms, m.llm_ttft_ms, m.first_chunk_ms, m.tts_first_audio_ms, interrupt_ms, m.reply_prepared_ms)


async def baseline_turn(engine: Engine, pcm: np.ndarray) -> float:
    """The seed design: transcribe all after release, wait for the whole reply, synthesize it whole."""
    backends = engine.backends
    await forget_last_question(engine)
    released = now_ms()
    transcript = (await backends.asr.transcribe(pcm)).text
    messages = engine.conversation.to_messages(engine.system_prompt, transcript)
    reply = "".join([delta async for delta in backends.llm.stream(messages)])
    async for _packet in backends.tts.synthesize(reply):
        return now_ms() - released
    return now_ms() - released


async def run_bench(engine: Engine, clips: list[tuple[str, np.ndarray]], turns: int, progress=None) -> BenchResult:
    result = BenchResult()
    sink = PacedSink()
    sink.start()
    others = engine.sinks
    for other in others:  # the benchmark's sink alone says when the reply is heard
        engine.remove_sink(other)
    engine.add_sink(sink)
    try:
        # One unmeasured turn: first-use costs (allocations, caches) are not latency.
        await streamed_turn(engine, sink, *clips[0])
        for i in range(turns):
            question, pcm = clips[i % len(clips)]
            sample = await streamed_turn(engine, sink, question, pcm)
            result.turns.append(sample)
            result.baseline_v2v_ms.append(await baseline_turn(engine, pcm))
            if progress:
                progress(i + 1, turns, sample, result.baseline_v2v_ms[-1])
    finally:
        engine.remove_sink(sink)
        for other in others:
            engine.add_sink(other)
        await sink.aclose()
    return result
