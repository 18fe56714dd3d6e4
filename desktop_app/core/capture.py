"""One capture path: how a microphone's audio becomes turns, for every face.

The window, each browser session and the benchmark feed *every* microphone block to a
:class:`SpeechCapture` for as long as their microphone is armed (open), and tell it when
push-to-talk goes down and up, or switch it to hands-free. Nothing else in a face
touches utterances, pre-roll or turn submission.

Push-to-talk:

* while nothing is held, the capture keeps only a short ring buffer (``pre_roll_ms``,
  300 ms by default) and drops everything older: an armed microphone keeps nothing
  beyond it;
* :meth:`SpeechCapture.press` interrupts the assistant (``engine.cancel()``: a press
  while the reply plays stops it at once), starts a live
  :class:`~desktop_app.core.utterance.Utterance` (transcribed phrase by phrase while the
  key is held, and the LLM primed with the known words) and hands it the pre-roll, so a
  word spoken together with the press is kept;
* while the key is held, a streaming VAD hears each pause after ``transcribe_pause_ms``
  (96 ms) of silence and has it transcribed at once, so the reply a local model begins on
  those words (``core.prepared_reply``) is under way when the key comes up, ~0.3 s later.
  The utterance's own checks (200 ms of silence, every 100 ms of audio) began it at
  about the release: in 3-4 of 8 benchmark turns, 7-8 of 8 with the VAD;
* :meth:`SpeechCapture.release` is the end of speech. After ``tail_ms`` (audio that is
  still on its way: 80 ms of RTP for a browser; none when the user had paused, the
  pause is transcribed and no speech came since) the utterance is submitted as a turn
  with the frame of that moment. A local microphone (``tail_ends_with_block``) delivers
  each block as soon as it is captured, so the tail ends with the first block captured
  after the release (at least ``min_tail_ms``, at most ``tail_ms``): on 100 ms blocks
  half a block on average instead of a whole one. A press shorter than
  ``min_press_ms`` is taken as accidental: dropped, no turn;
* a press during that tail resumes the same utterance (the user went on talking); with
  no tail, a press right after the release is a new one, and interrupts the turn.

Hands-free (:meth:`SpeechCapture.set_hands_free`): the same blocks go to
:class:`~desktop_app.core.hands_free.HandsFree` (turn detection, barge-in, echo filter)
instead; push-to-talk presses are refused meanwhile.

What the face hears back are typed :data:`CaptureEvent` values, and the hands-free
events of the core, through :meth:`SpeechCapture.subscribe`.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Union

import numpy as np

from desktop_app.core.engine import Engine
from desktop_app.core.hands_free import EchoFilter, HandsFree, HandsFreeEvent, HandsFreeOptions
from desktop_app.core.metrics import now_ms
from desktop_app.core.ports import SAMPLE_RATE, VoiceActivity
from desktop_app.core.turn import Turn, TurnInput
from desktop_app.core.turn_detector import TurnDetector, TurnDetectorConfig
from desktop_app.core.utterance import Utterance

log = logging.getLogger(__name__)


FrameSource = Callable[[], Union[bytes, None, Awaitable[Union[bytes, None]]]]


@dataclass(frozen=True)
class CaptureOptions:
    pre_roll_ms: int = 300  # audio from before the press that belongs to the utterance
    tail_ms: int = 0  # after the release, audio still on its way (RTP jitter buffer)
    tail_ends_with_block: bool = False  # a local device: the first block after the release ends the tail
    min_tail_ms: int = 30  # (then) X autorepeat's release/press pairs arrive within this
    min_press_ms: int = 250  # shorter presses are accidental
    max_utterance_s: float = 120.0  # a key held longer is released for the user
    # While the key is held, the silence after which a pause is transcribed (and the reply
    # begun on it): heard by a streaming VAD on each block, as hands-free does. The
    # utterance's own checks need 200 ms of silence and come every 100 ms of audio.
    # None: only those checks.
    transcribe_pause_ms: int | None = 96


@dataclass(frozen=True)
class PressStarted:
    pre_roll_ms: float  # audio from before the press handed to the utterance
    resumed: bool  # a press during the previous release's tail: the same utterance goes on


@dataclass(frozen=True)
class PressDropped:
    reason: str  # one line for the user ("too short: ...")


@dataclass(frozen=True)
class PressSubmitted:
    turn_id: str
    held_ms: float  # press -> release


CaptureEvent = Union[PressStarted, PressDropped, PressSubmitted]
CaptureListener = Callable[[Union[CaptureEvent, HandsFreeEvent]], None]


class SpeechCapture:
    def __init__(
        self,
        engine: Engine | None,
        options: CaptureOptions = CaptureOptions(),
        frame_source: FrameSource | None = None,
        clock: Callable[[], float] = now_ms,
    ) -> None:
        self._engine = engine
        self.options = options
        self._frame_source = frame_source
        self._clock = clock
        self._pre_roll: deque[np.ndarray] = deque()
        self._pre_roll_samples = 0
        self._utterance: Utterance | None = None
        self._pauses: _PauseWatch | None = None  # hears the user pause while the key is held
        self._held_samples = 0  # fed to the utterance since the press (pre-roll excluded)
        self._pressed_at = 0.0
        self._holding = False
        self._release: asyncio.Task | None = None
        self._released_mono = 0.0  # time.monotonic() of the release (blocks carry the same clock)
        self._tail_block = asyncio.Event()  # a block captured after the release has arrived
        self._hands_free: HandsFree | None = None
        self._hands_free_setup: tuple[HandsFreeOptions, EchoFilter | None, FrameSource | None] | None = None
        self._unsubscribe_hands_free: Callable[[], None] | None = None
        self._listeners: list[CaptureListener] = []
        self._tasks: set[asyncio.Task] = set()
        self._engine_was_speaking = False

    # ---- wiring ---------------------------------------------------------------------

    def subscribe(self, listener: CaptureListener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def bind(self, engine: Engine | None) -> None:
        """Use ``engine`` from now on (new settings built a new one). A held press is dropped."""
        if engine is self._engine:
            return
        self.discard()
        self._engine = engine
        if self._hands_free_setup is not None:
            self._start_hands_free(*self._hands_free_setup)

    # ---- state ----------------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """Push-to-talk is down (or its release is still collecting the tail)."""
        return self._utterance is not None

    @property
    def hands_free(self) -> HandsFree | None:
        return self._hands_free

    @property
    def hands_free_on(self) -> bool:
        return self._hands_free_setup is not None

    @property
    def user_speaking(self) -> bool:
        if self._hands_free is not None:
            return self._hands_free.user_speaking
        return self._holding

    # ---- audio ----------------------------------------------------------------------

    def feed(self, pcm: np.ndarray, captured_at: float | None = None) -> None:
        """One microphone block (16 kHz mono float32), on the engine's loop, always.

        ``captured_at`` (``time.monotonic()`` in the audio callback) lines the block up
        with the playback for the echo canceller (hands-free only).
        """
        if self._hands_free is not None:
            self._hands_free.feed(pcm, captured_at)
            return
        block = np.asarray(pcm, dtype=np.float32).reshape(-1)
        if self._utterance is not None:
            if self._held_samples < self.options.max_utterance_s * SAMPLE_RATE:
                self._utterance.feed(block)
                if self._pauses is not None:  # (in the tail the release decides: not told)
                    self._pauses.feed(block, tell=self._holding)
                self._held_samples += block.size
            elif self._holding:
                self.release()
            if not self._holding and captured_at is not None and captured_at >= self._released_mono:
                self._tail_block.set()
            return
        self._glance_after_reply()
        self._pre_roll.append(block)
        self._pre_roll_samples += block.size
        keep = self.options.pre_roll_ms * SAMPLE_RATE // 1000
        while self._pre_roll and self._pre_roll_samples - self._pre_roll[0].size >= keep:
            self._pre_roll_samples -= self._pre_roll.popleft().size

    # ---- push-to-talk ---------------------------------------------------------------

    def press(self) -> bool:
        """Push-to-talk down. False when refused (hands-free is on, or no engine yet)."""
        if self._hands_free_setup is not None or self._engine is None:
            return False
        if self._holding:
            return True
        if self._utterance is not None and self._release is not None and not self._release.done():
            self._release.cancel()  # pressed again within the tail: the user goes on talking
            self._release = None
            self._holding = True
            self._notify(PressStarted(0.0, resumed=True))
            return True
        self._engine.cancel()  # talking interrupts the reply, even its still-queued audio
        self._utterance = self._engine.start_utterance()
        pause_ms = self.options.transcribe_pause_ms
        self._pauses = None if pause_ms is None else _PauseWatch(self._engine.backends.vad, self._utterance, pause_ms)
        pre_roll = list(self._pre_roll)
        self._pre_roll.clear()
        self._pre_roll_samples = 0
        for block in pre_roll:
            self._utterance.feed(block)
            if self._pauses is not None:
                self._pauses.feed(block, tell=True)
        self._held_samples = 0
        self._pressed_at = self._clock()
        self._holding = True
        self._look()
        self._notify(PressStarted(sum(b.size for b in pre_roll) * 1000.0 / SAMPLE_RATE, resumed=False))
        return True

    def _glance_after_reply(self) -> None:
        """The reply has played: the user may press any moment. Have a camera's view read
        now, so the press finds its text read and the prompt's note evaluated (as
        hands-free does, ``Engine.glance``)."""
        engine = self._engine
        speaking = engine is not None and engine.speaking
        ended, self._engine_was_speaking = self._engine_was_speaking and not speaking, speaking
        if ended and self._frame_source is not None and engine.wants_glance:
            self._with_frame(engine.glance)

    def _look(self) -> None:
        """Hand the engine the frame in view, so its text is read while the user talks.
        Also with reading off: the engine then knows a frame is in view, and primes the
        prompt with the note the turn will carry ("you cannot see it")."""
        engine = self._engine
        if engine is not None and self._frame_source is not None:
            self._with_frame(engine.look)

    def _with_frame(self, use: Callable[[bytes | None], None]) -> None:
        """``use`` the frame in view (a face may convert it off the loop: then when ready)."""
        frame = self._frame_source()
        if inspect.isawaitable(frame):
            self._own(asyncio.ensure_future(_when_ready(frame, use)))
        else:
            use(frame)

    def release(self) -> asyncio.Task | None:
        """Push-to-talk up: the end of speech. The turn is submitted after the tail.

        Returns the task that submits it (its result: the :class:`Turn`, or None when
        the press was dropped); the capture owns it, :meth:`aclose` awaits it.
        """
        if not self._holding or self._utterance is None:
            return None
        self._holding = False
        released_at = self._clock()
        self._released_mono = time.monotonic()
        self._tail_block.clear()
        image = self._frame_source() if self._frame_source is not None else None
        if inspect.isawaitable(image):  # converted while the tail is collected, not after it
            image = asyncio.ensure_future(image)
            image.add_done_callback(lambda f: f.cancelled() or f.exception())  # a dropped press never reads it
        task = asyncio.ensure_future(self._submit(self._utterance, released_at, image))
        self._own(task)
        self._release = task
        return task

    async def _submit(self, utterance: Utterance, released_at: float, image) -> Turn | None:
        await self._collect_tail(utterance)
        if inspect.isawaitable(image):
            try:
                image = await image
            except Exception as exc:  # a frame that cannot be converted is not worth a turn
                log.warning("capture: frame not usable: %s", exc)
                image = None
        if self._utterance is not utterance:  # discarded meanwhile
            return None
        self._utterance = self._pauses = None
        self._release = None
        held_ms = released_at - self._pressed_at
        engine = self._engine
        if engine is None or (self._held_samples == 0 and held_ms >= self.options.min_press_ms):
            utterance.abort()
            self._notify(PressDropped("no audio arrived from the microphone"))
            return None
        if self._held_samples < self.options.min_press_ms * SAMPLE_RATE // 1000:
            utterance.abort()  # (audio, not clock time: a browser's audio and keys travel apart)
            self._notify(PressDropped("too short: hold the key while you speak"))
            return None
        turn = engine.submit(TurnInput(utterance=utterance, image_jpeg=image, end_of_speech_ms=released_at))
        self._notify(PressSubmitted(turn.id, held_ms))
        return turn

    async def _collect_tail(self, utterance: Utterance) -> None:
        """Until the audio spoken up to the release has arrived.

        A fixed tail (a browser's RTP) is skipped when the user had paused before the
        release, that pause is transcribed, and nothing since sounds like speech
        (``Utterance.silent_since_settled``): the reply begun on those words goes on at once
        (80 ms sooner). What is still in flight then was spoken in the last 80 ms before
        the release: at most the onset of a word the release itself cut.
        """
        options = self.options
        if not options.tail_ms:
            return
        if not options.tail_ends_with_block:
            if not await utterance.silent_since_settled():
                await asyncio.sleep(options.tail_ms / 1000)
            return
        await asyncio.sleep(min(options.min_tail_ms, options.tail_ms) / 1000)
        rest = options.tail_ms - options.min_tail_ms
        if rest > 0 and not self._tail_block.is_set():
            try:
                await asyncio.wait_for(self._tail_block.wait(), rest / 1000)
            except asyncio.TimeoutError:
                pass

    def discard(self) -> bool:
        """Drop a held press (or one whose tail is being collected). True when one was."""
        utterance, self._utterance = self._utterance, None
        self._pauses = None
        self._holding = False
        if self._release is not None:
            self._release.cancel()
            self._release = None
        if utterance is None:
            return False
        utterance.abort()
        return True

    # ---- hands-free -----------------------------------------------------------------

    def set_hands_free(
        self,
        options: HandsFreeOptions | None,
        echo: EchoFilter | None = None,
        frame_source: Callable[[], bytes | None] | None = None,
    ) -> None:
        """Hands-free on with ``options`` (again: rebuilt with the new ones), or off (None).

        ``frame_source`` (synchronous) gives the frame at the end of each utterance;
        default: the capture's own, when that one is synchronous.
        """
        self._stop_hands_free()
        self._hands_free_setup = None
        if options is None:
            return
        self.discard()
        self._hands_free_setup = (options, echo, frame_source)
        self._start_hands_free(options, echo, frame_source)

    def _start_hands_free(
        self, options: HandsFreeOptions, echo: EchoFilter | None, frame_source: Callable[[], bytes | None] | None
    ) -> None:
        self._stop_hands_free()
        if self._engine is None:
            return
        frame = frame_source or self._frame_source
        self._hands_free = HandsFree(self._engine, options, echo=echo, frame_source=frame)
        self._unsubscribe_hands_free = self._hands_free.subscribe(self._notify)

    def _stop_hands_free(self) -> None:
        if self._unsubscribe_hands_free is not None:
            self._unsubscribe_hands_free()
            self._unsubscribe_hands_free = None
        if self._hands_free is not None:
            self._hands_free.close()
            self._hands_free = None

    # ---- life -----------------------------------------------------------------------

    def _notify(self, event) -> None:
        if isinstance(event, PressDropped):
            log.info("capture: press dropped (%s): %.0f ms of audio in %.0f ms held", event.reason,
                     self._held_samples / 16, self._clock() - self._pressed_at)  # fmt: skip
        elif isinstance(event, PressSubmitted):
            log.info("capture: press submitted: turn %s, %.0f ms held", event.turn_id, event.held_ms)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("capture listener failed")

    def _own(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def aclose(self) -> None:
        self.set_hands_free(None)
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self.discard()


class _PauseWatch:
    """A streaming VAD over one held press: tells the utterance of each pause as soon as
    ``pause_ms`` of silence follow speech (:meth:`Utterance.pause_heard`), so the pause
    is transcribed, and the reply begun on it, while the user still holds the key."""

    _NEVER_MS = 24 * 3600 * 1000  # the detector's own end of speech: the release decides

    def __init__(self, vad: VoiceActivity, utterance: Utterance, pause_ms: int) -> None:
        config = TurnDetectorConfig(pause_ms=self._NEVER_MS, pre_roll_ms=0, history_ms=100)
        self._detector = TurnDetector(vad, config)
        self._utterance = utterance
        self._pause_ms = pause_ms
        self._told = -1  # the speech end whose pause the utterance was told of

    def feed(self, block: np.ndarray, tell: bool) -> None:
        """The same audio the utterance gets, from its first sample (positions agree);
        ``tell``: a pause heard now is the user's (the key is held)."""
        detector = self._detector
        detector.feed(block)
        if tell and detector.silence_ms >= self._pause_ms and detector.last_speech_end != self._told:
            self._told = detector.last_speech_end
            self._utterance.pause_heard(self._told)


async def _when_ready(frame: Awaitable[bytes | None], use: Callable[[bytes | None], None]) -> None:
    use(await frame)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("capture: submitting a turn failed: %s", task.exception())
