"""Reading the view: a model that cannot see gets the text in the frame, or is told it
cannot see, on the real default models (Qwen2.5-Coder 1.5B, PP-OCRv4), offline.

Replies are judged over sets with margins (temperature 0.7, and CTranslate2/llama.cpp
kernels differ between Intel and AMD): the facts that OCR read must come through, and a
picture with no text must not be described.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from desktop_app.backends.ocr.rapid_ocr import RapidTextReader
from desktop_app.config import Settings
from desktop_app.core.events import ViewGiven
from desktop_app.core.frame_text import FrameText
from desktop_app.core.sight import View
from desktop_app.core.turn import TurnInput
from tests.core.engines import record_primes, warm_engine
from tests.pictures import CANNOT_SEE, ERROR_CODE, ERROR_FILE, error_screen, jpeg, picture_without_text

pytestmark = pytest.mark.timeout(900)


async def test_a_frame_is_read_once_in_the_background_and_the_latest_view_wins():
    reader = RapidTextReader()
    frames = FrameText(reader)
    code = jpeg(error_screen())
    frames.look(code)  # the user starts talking: reading starts now
    frames.look(jpeg(error_screen()))  # the same view again (a new frame): not read twice
    reading = await frames.reading_for(code)
    assert ERROR_CODE in reading.text
    assert await frames.reading_for(jpeg(error_screen())) is reading  # ready: no second read

    other = jpeg(error_screen(lines=["Build succeeded: 0 warnings, 0 errors"]))
    blank = jpeg(picture_without_text((1280, 720)))
    frames.look(other)
    frames.look(blank)  # while "other" is read: blank waits, and replaces nothing else
    assert (await frames.reading_for(blank)).text == ""
    assert frames.latest.text == ""
    assert "succeeded" in (await frames.reading_for(other)).text.lower()
    await frames.aclose()
    await reader.aclose()


async def test_a_blind_model_answers_from_the_text_on_the_screen():
    async with warm_engine(Settings()) as engine:
        assert not engine.backends.llm.vision and engine.reads_view
        engine.set_view_source("screen")
        views = []
        engine.subscribe(lambda e: views.append(e.view) if isinstance(e, ViewGiven) else None)
        frame = jpeg(error_screen())
        engine.look(frame)  # as a press does: the text is read while the user talks
        turn = await engine.run_turn(TurnInput(text="What is the error code on my screen, and in which file did it happen?", image_jpeg=frame))
        assert [v.given for v in views] == ["text"]
        assert ERROR_CODE in views[0].text
        reply = turn.reply_text.replace(",", "")
        assert ERROR_CODE in reply, reply
        assert ERROR_FILE.split(".")[0] in reply.lower(), reply
        # what the model was given is stored with the turn
        stored = json.loads(engine.store.path_of(engine.conversation.id).read_text())
        record = stored["turns"][-1]
        assert record["view"].startswith("screen: text") and ERROR_CODE in record["view_text"]
        # the next prompt repeats this turn as it was sent, note and all: what the embedded
        # model has in its cache stays a prefix (else it evaluates the last exchange again)
        sent = views[0].block() + "\n\n" + turn.user_text
        history = engine.conversation.to_messages(engine.system_prompt, "And the file?")
        assert history[-3] == {"role": "user", "content": sent}, history[-3]


async def test_a_blind_model_says_it_cannot_see_a_picture_without_text():
    questions = ["What colour is the picture I am showing you?", "What is in this picture?", "Describe what you see."]
    async with warm_engine(Settings()) as engine:
        engine.set_view_source("picture")
        frame = jpeg(picture_without_text())
        replies = []
        for question in questions:
            engine.new_conversation()
            turn = await engine.run_turn(TurnInput(text=question, image_jpeg=frame))
            assert turn.view is not None and turn.view.given == "no text"
            replies.append(turn.reply_text)
    honest = [r for r in replies if CANNOT_SEE.search(r)]
    described = [r for r in replies if any(w in r.lower() for w in ("yellow", "circle", "blue"))]
    assert len(honest) >= 2 and not described, replies


async def test_with_reading_off_the_model_is_told_it_cannot_see():
    async with warm_engine(Settings(read_text_in_view=False)) as engine:
        assert engine.backends.reader is None and not engine.reads_view
        engine.set_view_source("screen")
        frame = jpeg(error_screen())
        messages = engine.conversation.to_messages(engine.system_prompt, "What is on my screen?")
        assert "you cannot see" in messages[0]["content"]
        turn = await engine.run_turn(TurnInput(text="What is the error code on my screen?", image_jpeg=frame))
        assert turn.view is not None and turn.view.given == "nothing"
        assert ERROR_CODE not in turn.reply_text  # it was never given the text


def test_the_prompt_says_what_the_model_gets():
    from desktop_app.core.conversation import Conversation
    from desktop_app.core.sight import View, system_prompt

    conversation = Conversation()
    text = conversation.to_messages("Be brief.", "What does it say?", view=View("screen", "text", "hello 42"))[-1]["content"]
    assert text.startswith("[Text visible on the user's screen (OCR, may contain errors):\nhello 42\n]")
    assert text.endswith("What does it say?")
    nothing = conversation.to_messages("Be brief.", "Can you see me?", view=View("camera", "nothing"))[-1]["content"]
    assert "cannot see" in nothing
    assert system_prompt("Be brief.", vision=True) == "Be brief."
    assert "cannot see" in system_prompt("Be brief.", vision=False)
    # a model that sees gets the image, and the text only when asked for
    parts = conversation.to_messages("", "What is it?", b"\xff\xd8jpeg", view=View("camera", "image"))[-1]["content"]
    assert parts[0] == {"type": "text", "text": "What is it?"} and parts[1]["type"] == "image_url"
    parts = conversation.to_messages("", "What is it?", b"\xff\xd8jpeg", view=View("camera", "image", "EXIT"))[-1]["content"]
    assert parts[0]["text"].startswith("[Text visible on the user's camera") and parts[1]["type"] == "image_url"


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(test_a_frame_is_read_once_in_the_background_and_the_latest_view_wins())


async def test_a_moving_view_uses_the_reading_from_when_the_user_started_talking():
    """A camera's frames never match to the pixel: the frame read at the press is the one
    the user is talking about, and the turn does not read its own frame again."""
    from desktop_app.core.metrics import now_ms

    reader = RapidTextReader()
    frames = FrameText(reader)
    pressed = now_ms()
    frames.look(jpeg(error_screen()))
    moved = jpeg(error_screen(lines=["QuotaExceededError: error code 4291", "(the camera moved)", "x" * 40]))
    reading = await frames.reading_for(moved, fresh_since_ms=pressed)
    assert ERROR_CODE in reading.text and "camera moved" not in reading.text
    # an old reading is not fresh for a later press: the new frame is read
    later = now_ms()
    newer = await frames.reading_for(moved, fresh_since_ms=later)
    assert newer is not reading and "moved" in newer.text
    await frames.aclose()
    await reader.aclose()


async def test_the_reader_thread_yields_to_the_conversation_threads():
    import os
    import threading

    from desktop_app.core.threads import LOW_PRIORITY_NICE, ModelThread

    def nice() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    low, normal = ModelThread("low", low_priority=True), ModelThread("normal")
    base = os.getpriority(os.PRIO_PROCESS, 0)
    if base >= LOW_PRIORITY_NICE:
        pytest.skip(f"the tests already run at nice {base}")
    assert await low.run(nice) == LOW_PRIORITY_NICE
    assert await normal.run(nice) == base  # the models of the conversation keep theirs
    low.shutdown()
    normal.shutdown()


SMALL = Settings(llm_provider="embedded", llm_model="smollm2-135m", llm_max_tokens=8)
MOVED = ["QuotaExceededError: error code 4291", "(the camera moved)", "x" * 40]


async def test_a_camera_read_as_the_reply_ended_is_the_view_when_the_user_speaks():
    """Hands-free reads a camera's view as each reply ends (``Engine.glance``); the user
    talks within seconds, and that reading is their view: the turn does not wait for a
    new one. A screen is read afresh: there one changed line is another answer."""
    async with warm_engine(SMALL) as engine:
        engine.set_view_source("camera")
        engine.glance(jpeg(error_screen()))  # the reply ended
        assert await _read(engine, ERROR_CODE)  # (no turn waits on a busy machine's OCR here)
        moved = jpeg(error_screen(lines=MOVED))
        engine.look(moved)  # the user starts talking: not read again
        turn = await engine.run_turn(TurnInput(text="What does it say?", image_jpeg=moved))
        assert turn.view is not None and ERROR_CODE in turn.view.text and "moved" not in turn.view.text

        engine.set_view_source("screen")
        engine.glance(jpeg(error_screen(lines=["Build succeeded"])))  # nothing for a screen
        engine.look(moved)  # read afresh
        assert await _read(engine, "4291")
        assert "succeeded" not in engine.last_reading.text.lower()


async def _read(engine, text: str, timeout_s: float = 60.0) -> bool:
    """The engine's latest reading has ``text`` (OCR takes 1-5 s on a busy 2-core machine)."""
    for _ in range(int(timeout_s / 0.05)):
        if engine.last_reading is not None and text in engine.last_reading.text:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("face", ["hands-free", "push-to-talk"])
async def test_the_camera_is_read_when_the_reply_has_played(face):
    """The user may talk (or press) any moment after a reply: their turn finds the
    camera's text read. A screen is read at the turn: no frame is asked for then."""
    from desktop_app.core.capture import SpeechCapture
    from desktop_app.core.hands_free import HandsFree
    from desktop_app.core.sinks import CollectingSink
    from tests.signals import silence

    async with warm_engine(SMALL) as engine:
        engine.add_sink(CollectingSink())
        offered = []

        def frame():
            offered.append(1)
            return jpeg(error_screen())

        microphone = HandsFree(engine, frame_source=frame) if face == "hands-free" else SpeechCapture(engine, frame_source=frame)
        primed = record_primes(engine)

        async def reply(text: str) -> None:
            turn = engine.submit(TurnInput(text=text))
            while not turn.done:  # the armed microphone's blocks go on while the assistant talks
                microphone.feed(silence(0.02))
                await asyncio.sleep(0.02)

        await reply("Say hello.")
        assert not offered
        microphone.feed(silence(0.02))  # the first block after the reply
        assert offered == [1]
        assert await _read(engine, ERROR_CODE)
        await asyncio.sleep(0)
        note = View("camera", "text", engine.last_reading.text).block()  # evaluated before anyone talks
        assert primed[-1] == f"{note}\n\n", primed
        engine.look(jpeg(error_screen(lines=MOVED)))  # the user starts, seconds later: not read again
        assert ERROR_CODE in engine.last_reading.text

        engine.set_view_source("screen")  # read at the turn: no frame is asked for (an encode in the window)
        await reply("Say hello again.")
        microphone.feed(silence(0.02))
        assert offered == [1]
        if face == "hands-free":
            microphone.close()
        else:
            await microphone.aclose()


async def test_nothing_is_primed_without_the_note_while_the_view_is_read():
    """The user presses with a new view in sight: its reading takes a second or more.
    A prompt evaluated before it lands has no note (or a stale one), so no turn can use
    it, and on two cores it takes the CPU from the reading itself. Nothing is evaluated
    until the reading lands; then the note and the words so far are, and the turn finds
    them in the cache."""
    import numpy as np

    from desktop_app.core.capture import SpeechCapture
    from tests.core.test_capture import feed, turn_of
    from tests.signals import silence
    from tests.speech import speech_pcm

    async with warm_engine(SMALL) as engine:
        primed = record_primes(engine)
        while_talking: list[str] = []  # (after the reply, the conversation is primed: "")
        engine.subscribe(lambda e: while_talking.extend(primed) if type(e).__name__ == "TurnStarted" else None)
        frame = jpeg(error_screen())
        capture = SpeechCapture(engine, frame_source=lambda: frame)
        await feed(capture, silence(0.3))
        assert capture.press()  # the frame is offered for reading now
        assert engine.last_reading is None
        await feed(capture, np.concatenate([speech_pcm("What does the error say?"), silence(0.3)]))
        turn = await turn_of(capture)
        assert turn is not None and turn.view is not None and ERROR_CODE in turn.view.text, turn.view
        note = turn.view.block()
        assert while_talking and all(p.startswith(note) for p in while_talking), (note, primed)
