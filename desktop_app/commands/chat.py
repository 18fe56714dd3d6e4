"""``aiwebcam`` in a terminal: type, read the streamed reply, hear it on the speaker.

The desktop window replaces this once it exists; it stays for terminals and SSH.
"""

from __future__ import annotations

import asyncio
import sys

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.events import Event, MetricsReady, ReplyDelta, TurnError, TurnFinished
from desktop_app.core.turn import TurnInput
from desktop_app.errors import AppError
from desktop_app.progress import StderrProgress

HELP = "Type a message and press Enter. /new starts a new conversation, /quit leaves."


async def run_chat(settings: Settings, paths: AppPaths) -> int:
    engine = make_engine(settings, paths, StderrProgress())
    speaker = None
    try:
        from desktop_app.media.playback import SpeakerSink

        speaker = SpeakerSink()
        engine.add_sink(speaker)
    except AppError as exc:
        print(f"aiwebcam: {exc}; replies are shown as text only", file=sys.stderr)

    def on_event(event: Event) -> None:
        if isinstance(event, ReplyDelta):
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, TurnError):
            print(f"\naiwebcam: error: {event.message}", file=sys.stderr)
        elif isinstance(event, MetricsReady):
            print(f"\n[{event.metrics.summary()}]", file=sys.stderr)
        elif isinstance(event, TurnFinished) and speaker is not None:
            speaker.drain_started()

    engine.subscribe(on_event)
    print(f"Loading models (speech: {engine.backends.asr.name}, language: {engine.backends.llm.name}, voice: {engine.backends.tts.name})...", file=sys.stderr)
    try:
        await engine.warm_up()
        print(HELP, file=sys.stderr)
        loop = asyncio.get_running_loop()
        while True:
            sys.stdout.write("\nYou: ")
            sys.stdout.flush()
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            text = line.strip()
            if text in ("/quit", "/exit"):
                break
            if text == "/new":
                engine.new_conversation()
                print("(new conversation)", file=sys.stderr)
                continue
            if not text:
                continue
            sys.stdout.write("AI: ")
            await engine.run_turn(TurnInput(text=text))
    finally:
        await engine.aclose()
        if speaker is not None:
            speaker.close()
    print(file=sys.stderr)
    return 0
