"""An utterance arriving in real time, transcribed while the user is still talking.

The microphone face calls :meth:`Utterance.feed` with 16 kHz mono float32 PCM as it
arrives. In the background, the voice-activity model splits the audio into phrases at pauses; each
closed phrase is transcribed once and kept, and the open phrase at the end is
transcribed speculatively. Each time the known text grows, ``on_partial`` is called
(the engine uses it to have the LLM evaluate the prompt early). When the user
releases push-to-talk, :meth:`finish` only has to deal with the tail: nothing at all
when the speech ended before the last speculative pass.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import numpy as np

from desktop_app.core.ports import SAMPLE_RATE, SpeechRecognizer, VoiceActivity
from desktop_app.core.threads import ModelThread
from desktop_app.core.turn_detector import TurnDetectorConfig

_vad_thread: ModelThread | None = None
# How far past the caller's speech end a pass must have heard for finish() to trust it
# (speech_ended): a pass begun as the speech ended may have missed a soft last sound
# that the detector already called silence. The pass made in the pause hears 96 ms more.
_ENDED_MARGIN = SAMPLE_RATE * 48 // 1000


def _vad() -> ModelThread:
    global _vad_thread
    if _vad_thread is None:
        _vad_thread = ModelThread("vad")
    return _vad_thread


def _no_speech(vad: VoiceActivity, pcm: np.ndarray, threshold: float = TurnDetectorConfig.threshold) -> bool:
    """No window of ``pcm`` is as likely speech as ``threshold`` (the turn detector's)."""
    stream, size = vad.stream(), vad.window
    return all(stream.probability(pcm[i : i + size]) < threshold for i in range(0, pcm.size - size + 1, size))


class Utterance:
    def __init__(
        self,
        asr: SpeechRecognizer,
        vad: VoiceActivity,
        on_partial: Callable[[str], None] | None = None,
        check_every_ms: int = 100,
        *,
        on_settled: Callable[[str], None] | None = None,
        on_unsettled: Callable[[], None] | None = None,
        pause_ms: int = 200,
        phrase_pause_ms: int = 700,
        speculate_every_ms: int = 800,
    ) -> None:
        self._asr = asr
        self._vad = vad
        self._on_partial = on_partial
        # A pause was transcribed: the text covers all the speech so far (on_settled gets
        # it instead of on_partial); on_unsettled: speech came after it, or the press was
        # dropped, so that text is no longer the whole utterance (never after finish()).
        self._on_settled = on_settled
        self._on_unsettled = on_unsettled
        self._settled_said = False
        self._settled_text = ""  # the text last given to on_settled
        self._check_every = SAMPLE_RATE * check_every_ms // 1000
        self._pause_ms = pause_ms
        self._phrase_pause = SAMPLE_RATE * phrase_pause_ms // 1000
        self._speculate_every = SAMPLE_RATE * speculate_every_ms // 1000
        self._buffer = np.zeros(SAMPLE_RATE * 30, dtype=np.float32)
        self._size = 0
        self._final_upto = 0  # phrases before this sample are transcribed for good
        self._phrases: list[str] = []
        self._open_text = ""  # text of the open phrase, as far as it was heard
        self._open_upto = 0  # the audio (absolute samples) that _open_text covers
        self._settled_upto = 0  # the latest pass made in a pause covered the audio up to here
        self._last_check = 0
        self._job: asyncio.Task | None = None
        self._announced = ""
        self._finished = False
        self._pause_at: int | None = None  # a pause the caller heard (speech end, samples)
        self._ended_at: int | None = None  # where the caller's detector ended the speech

    # ---- input ----------------------------------------------------------------------

    def feed(self, pcm: np.ndarray) -> None:
        if self._finished:
            return
        pcm = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if self._size + pcm.size > self._buffer.size:
            grown = np.zeros(max(self._buffer.size * 2, self._size + pcm.size), dtype=np.float32)
            grown[: self._size] = self._buffer[: self._size]
            self._buffer = grown
        self._buffer[self._size : self._size + pcm.size] = pcm
        self._size += pcm.size
        if self._size - self._last_check >= self._check_every and (self._job is None or self._job.done()):
            self._job = asyncio.create_task(self._step(final=False))

    def pause_heard(self, speech_end: int) -> None:
        """The caller's voice-activity detector heard the speech stop at ``speech_end``
        (samples from the utterance's start) and a pause follow: transcribe it now rather
        than when this utterance's own check notices (100-300 ms later). Hands-free calls
        it as it asks whether the user has finished, which waits for this transcript."""
        if self._finished:
            return
        self._pause_at = speech_end
        if self._job is None or self._job.done():
            self._job = asyncio.create_task(self._step(final=False))

    def speech_ended(self, speech_end: int) -> None:
        """The caller's voice-activity detector ends the turn: the speech stopped at
        ``speech_end`` (samples from the utterance's start), and only silence came since.
        When a pass made in the pause covers it, :meth:`finish` transcribes nothing more.
        Without this, finish checks with Silero's own regions, which run on to the audio's
        end until 200 ms of silence: a turn that hands-free ended sooner was transcribed
        again, and when the words came out different, the reply begun in the pause was
        dropped (3 of 16 turns in the window, with the transcript deciding alone)."""
        self._ended_at = speech_end

    @property
    def duration_ms(self) -> float:
        return self._size * 1000.0 / SAMPLE_RATE

    def audio(self) -> np.ndarray:
        return self._buffer[: self._size].copy()

    @property
    def settled_upto(self) -> int:
        """Samples (from the utterance's start) whose speech :attr:`text` covers, as of the
        latest pass made while the user paused; 0 before any such pass."""
        return self._settled_upto

    @property
    def settled(self) -> bool:
        """The user paused, the pause was transcribed (``on_settled`` had the text), and
        this utterance's own checks have heard no speech since (they need 250 ms of it)."""
        return self._settled_said and not self._finished

    async def silent_since_settled(self) -> bool:
        """:attr:`settled`, and not one 32 ms window of the audio fed since the pass that
        settled it sounds like speech: a short word after the pause counts, which the
        checks behind :attr:`settled` (250 ms of speech at least) may not have heard yet."""
        if not self.settled:
            return False
        since = self._buffer[self._settled_upto : self._size].copy()
        return await _vad().run(_no_speech, self._vad, since)

    @property
    def text(self) -> str:
        return " ".join([*self._phrases, self._open_text]).strip()

    # ---- end ------------------------------------------------------------------------

    async def finish(self) -> str:
        """The whole transcript; only the part not yet transcribed is worked on now."""
        self._finished = True
        if self._job is not None:
            await self._job
        await self._step(final=True)
        return self.text

    def abort(self) -> None:
        self._finished = True
        if self._job is not None:
            self._job.cancel()
        self._unsettle()

    def _unsettle(self) -> None:
        if self._settled_said:
            self._settled_said = False
            self._settled_text = ""  # the same words after another pause are settled again
            if self._on_unsettled is not None:
                self._on_unsettled()

    # ---- work -----------------------------------------------------------------------

    async def _step(self, final: bool) -> None:
        """Look at the audio not yet final; transcribe when it is worth it.

        * a pause after new speech: transcribe the open phrase (likely the end of what
          the user says: tell ``on_partial``); after a long pause the phrase is final;
        * long speech without a pause: transcribe speculatively every few seconds;
        * at the end: transcribe only if speech came after the last pass.
        """
        end = self._size
        self._last_check = end
        start = self._final_upto
        if final and self._ended_at is not None and self._settled_upto >= self._ended_at + _ENDED_MARGIN and self._ended_at > start:
            return  # a pass made in the pause heard all the speech (speech_ended)
        tail = self._buffer[start:end].copy()
        pause_at, self._pause_at = self._pause_at, None
        announce = settled = False
        if pause_at is not None and not final and start < pause_at <= end:
            if pause_at > self._open_upto or self._open_upto <= start:
                await self._transcribe_open(tail, end)
                announce = True
            settled = True
            self._settled_upto = max(self._settled_upto, min(self._open_upto, end))
            stamps = None
        else:
            stamps = await _vad().run(self._vad.speech_regions, tail, self._pause_ms)
        if stamps is None:
            pass  # the caller's pause was transcribed above
        elif not stamps:
            self._open_text, self._open_upto = "", end
        else:
            speech_end = start + stamps[-1]["end"]
            heard_all = speech_end <= self._open_upto and self._open_upto > start
            paused = stamps[-1]["end"] < tail.size
            if final:
                if not heard_all:
                    await self._transcribe_open(tail, end)
            elif paused and not heard_all:
                await self._transcribe_open(tail, end)
                self._settled_upto = end
                announce = settled = True
            elif paused:
                self._settled_upto = max(self._settled_upto, min(self._open_upto, end))
                settled = True  # (heard all by a pass made as the speech ended)
            if not paused and not final and not self._finished and await self._talked_since_settled(end) and not self._finished:
                # Talking again. Not once finish() was called (before the VAD's scan, which
                # finish() would wait for, or during it): the caller ended the turn
                # (hands-free's detector, or a release), and the final pass decides by
                # the words (a reply begun on other words is not taken). A check still
                # running then used to drop the reply begun in the pause after the turn
                # was submitted.
                self._unsettle()
            if not paused and not final and end - max(self._open_upto, start) >= self._speculate_every:
                await self._transcribe_open(tail, end)
                announce = True  # most of it will still be right: let the LLM start on it
            if not final and paused and end - speech_end >= self._phrase_pause and self._open_upto >= speech_end:
                if self._open_text:
                    self._phrases.append(self._open_text)
                self._open_text, self._final_upto = "", speech_end
        if announce and not settled and not final and self._pause_at is not None and start < self._pause_at <= self._open_upto:
            # The caller heard a pause while this pass ran, and the pass covers it: its words
            # are settled now (the engine begins the reply on them), not a partial to have
            # the model evaluate first. Announced as a partial, the model evaluated them,
            # and the reply begun a moment later waited for that (~60 ms more to its first
            # token, in a quarter of hands-free turns).
            self._pause_at = None
            self._settled_upto = max(self._settled_upto, self._open_upto)
            settled = True
        known = self.text
        if known and not self._finished:
            if settled and self._on_settled is not None:
                if known != self._settled_text:
                    self._settled_text = self._announced = known
                    self._settled_said = True
                    self._on_settled(known)
            elif announce and known != self._announced and self._on_partial is not None:
                self._announced = known
                self._on_partial(known)
        if not final and not self._finished and (self._pause_at is not None or self._size - self._last_check >= self._check_every):
            self._job = asyncio.create_task(self._step(final=False))

    async def _talked_since_settled(self, end: int) -> bool:
        """Speech came after the words were settled. Silero's regions alone cannot tell: they
        run on to the audio's end until 200 ms of silence, so a check made sooner in the
        pause took it for more speech and the reply begun on the words was dropped and
        begun again (1 in 8 hands-free turns)."""
        if not self._settled_said:
            return True  # nothing settled to keep
        # Speech further back was heard by an earlier check (one every 100 ms of audio).
        since = self._buffer[max(self._settled_upto, end - SAMPLE_RATE) : end].copy()
        # The detector's own hysteresis: soft speech that keeps its turn going counts.
        return not await _vad().run(_no_speech, self._vad, since, TurnDetectorConfig().neg_threshold)

    async def _transcribe_open(self, tail: np.ndarray, end: int) -> None:
        result = await self._asr.transcribe(tail)
        self._open_text, self._open_upto = result.text, end
