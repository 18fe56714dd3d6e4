"""``aiwebcam ask``: one whole turn, headless, with the configured backends."""

from __future__ import annotations

import argparse
import json
import sys

from desktop_app.backends.factory import make_engine
from desktop_app.config import AppPaths, Settings
from desktop_app.core.events import Event, ReplyDelta, TurnError
from desktop_app.core.metrics import now_ms
from desktop_app.core.model_wait import WaitingForModel
from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.core.sinks import CollectingSink
from desktop_app.core.turn import TurnInput
from desktop_app.errors import AppError, NoSpeechError
from desktop_app.progress import StderrProgress


async def run_ask(args: argparse.Namespace, settings: Settings, paths: AppPaths) -> int:
    if not args.audio and not args.text.strip():
        raise AppError("give an audio file, --text, or both")
    # Read the inputs before loading any model: bad input fails fast.
    audio = None
    if args.audio:
        from desktop_app.media.audio_file import load_audio

        audio = load_audio(args.audio)
    image = None
    if args.image:
        from desktop_app.media.image import load_image_jpeg

        image = load_image_jpeg(args.image)

    progress = StderrProgress(quiet=args.json and not sys.stderr.isatty())
    engine = make_engine(settings, paths, progress)
    engine.set_view_source("picture")
    if args.conversation:
        engine.open_conversation(args.conversation)
    elif args.continue_latest:
        latest = engine.store.latest()
        if latest is not None:
            engine.continue_conversation(latest)
    sink = CollectingSink()
    engine.add_sink(sink)
    errors: list[str] = []
    streaming = not args.json

    waiting: list[WaitingForModel] = []

    def on_event(event: Event) -> None:
        if isinstance(event, TurnError):
            errors.append(event.message)
        elif isinstance(event, WaitingForModel):
            if not waiting:  # once: the user knows it is the model, not this program
                gap = "\n" if streaming and sys.stdout.isatty() else ""
                print(f"{gap}aiwebcam: {event.line}", file=sys.stderr, flush=True)
            waiting.append(event)
        elif isinstance(event, ReplyDelta) and streaming:
            sys.stdout.write(event.text)
            sys.stdout.flush()

    engine.subscribe(on_event)
    try:
        load_started = now_ms()
        await engine.warm_up()
        load_ms = now_ms() - load_started
        if streaming:
            sys.stdout.write("AI: ")
        turn = await engine.run_turn(TurnInput(audio=audio, text=args.text, image_jpeg=image))
    finally:
        await engine.aclose()
    if streaming:
        sys.stdout.write("\n")
    if errors:
        raise AppError(errors[0])
    if not turn.user_text:
        raise NoSpeechError(f"no speech detected in {args.audio}")
    if args.out:
        from desktop_app.media.audio_file import write_wav
        from desktop_app.media.opus import OPUS_RATE, decode_packets

        write_wav(args.out, decode_packets(sink.payloads()), OPUS_RATE)
    summary = {
        "transcript": turn.user_text,
        "reply": turn.reply_text,
        "audio_seconds": round(sink.audio_ms / 1000.0, 3),
        "input_audio_seconds": round(audio.size / SAMPLE_RATE, 3) if audio is not None else 0.0,
        "metrics": turn.metrics.as_dict(),
        "load_ms": round(load_ms, 1),
        "interrupted": turn.interrupted,
        "conversation_id": engine.conversation.id,
        "backends": {"asr": engine.backends.asr.name, "llm": engine.backends.llm.name, "tts": engine.backends.tts.name},
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print(f"You: {turn.user_text}", file=sys.stderr)
        print(f"[{turn.metrics.summary()}; {summary['audio_seconds']:.1f} s of speech]", file=sys.stderr)
    return 0
