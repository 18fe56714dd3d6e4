"""A full spoken turn on the app's own models: the shipped question in, the reply on the speaker.

The turn runs through the engine (``desktop_app.core.Engine``) exactly as in the window,
with the models ``aiwebcam --self-test`` uses (``spoken_check.offline_settings``: embedded Whisper,
the configured embedded LLM, Piper; no service, no key), into a throw-away conversation
store. The reply plays on the speaker when it opens. Reports the engine's own latency
breakdown: ASR, first token, first audio (first chunk -> its audio) and voice-to-voice.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from desktop_app.device_check.context import CheckContext
from desktop_app.device_check.result import CheckResult, failed, passed

NAME = "spoken turn"
SLOW_V2V_MS = 3000.0  # above this a conversation feels slow: say how to speed it up
SMALL_LLM = "smollm2-135m"
FIX = "run 'aiwebcam --self-test' for details; reinstall the app if a model is missing or damaged"


async def check_turn(ctx: CheckContext) -> CheckResult:
    from desktop_app.backends.factory import make_backends
    from desktop_app.spoken_check import MAX_WORD_ERROR, QUESTION_TEXT, find_question, offline_settings, word_error_rate
    from desktop_app.core.engine import Engine, default_store
    from desktop_app.core.events import TurnError
    from desktop_app.core.sinks import CollectingSink
    from desktop_app.core.turn import TurnInput
    from desktop_app.errors import AppError
    from desktop_app.media.audio_file import load_audio

    audio = await asyncio.to_thread(load_audio, find_question())
    settings = offline_settings(ctx.settings)
    own = ctx.backends is None
    try:
        backends = make_backends(settings, ctx.paths) if own else ctx.backends
    except AppError as exc:
        return failed(NAME, f"the models are not usable: {exc}", FIX)
    with tempfile.TemporaryDirectory(prefix="aiwebcam-doctor-") as tmp:
        engine = Engine(backends, default_store(Path(tmp)), settings.system_prompt)
        errors: list[str] = []
        engine.subscribe(lambda event: errors.append(event.message) if isinstance(event, TurnError) else None)
        collected = CollectingSink()
        engine.add_sink(collected)
        speaker = None
        try:
            if own:
                ctx.on_progress(f"{NAME}: loading the models ({settings.resolved_llm_model()}; the first time takes longer)...")
                t0 = time.perf_counter()
                try:
                    await engine.warm_up()
                except Exception as exc:  # a missing or damaged model file
                    return failed(NAME, f"the models did not load: {type(exc).__name__}: {' '.join(str(exc).split())}", FIX)
                loaded = f"models loaded in {time.perf_counter() - t0:.1f} s; "
            else:
                loaded = ""
            speaker = _open_speaker(ctx)  # after loading: a busy CPU would underrun a waiting stream
            if speaker is not None:
                engine.add_sink(speaker)
            ctx.on_progress(f"{NAME}: asking {QUESTION_TEXT!r}" + (f", the reply plays on {ctx.output_label}..." if speaker else "..."))
            turn = await engine.run_turn(TurnInput(audio=audio))
            if speaker is not None:
                await _drain(speaker)
        finally:
            if speaker is not None:
                speaker.close()
            if own:
                await engine.aclose()
    m = turn.metrics
    figures = {
        key: round(value, 0)
        for key, value in (("asr_ms", m.asr_ms), ("first_token_ms", m.llm_ttft_ms), ("first_audio_ms", m.tts_first_audio_ms), ("v2v_ms", m.v2v_ms))
        if value is not None
    }
    breakdown = ", ".join(
        f"{label} {value:.0f} ms" for label, value in (("ASR", m.asr_ms), ("first token", m.llm_ttft_ms), ("first audio", m.tts_first_audio_ms), ("voice-to-voice", m.v2v_ms)) if value is not None
    )
    heard, reply = turn.user_text.strip(), " ".join(turn.reply_text.split())
    said = f"heard {heard!r}, replied {reply[:60]!r}{'...' if len(reply) > 60 else ''}"
    where = "played on the speaker" if speaker is not None else "not played (no speaker)"
    if errors:
        return failed(NAME, f"{loaded}the turn failed: {errors[0]}", FIX, **figures)
    wer = word_error_rate(QUESTION_TEXT, heard)
    if wer > MAX_WORD_ERROR:
        return failed(NAME, f"{loaded}{said}: the question was {QUESTION_TEXT!r} (word error {wer:.0%})", FIX, **figures)
    if not reply or collected.audio_ms <= 0:
        return failed(NAME, f"{loaded}{said}: {'no reply' if not reply else 'no speech'} came back", FIX, **figures)
    detail = f"{loaded}{breakdown}; {said}; {collected.audio_ms / 1000:.1f} s of speech {where}"
    if m.v2v_ms is not None and m.v2v_ms > SLOW_V2V_MS:
        faster = "" if settings.resolved_llm_model() == SMALL_LLM else f", or pick the small model {SMALL_LLM} in Settings"
        detail += f"; slow (voice-to-voice over {SLOW_V2V_MS / 1000:.0f} s): close other busy programs{faster}"
    return passed(NAME, detail, **figures)


def _open_speaker(ctx: CheckContext):
    from desktop_app.media.devices import device_arg
    from desktop_app.media.playback import AudioDeviceError, SpeakerSink

    try:
        return SpeakerSink(device_arg(ctx.output_device))
    except AudioDeviceError:
        return None
    except Exception:  # a device that vanished while opening
        return None


async def _drain(speaker, limit_s: float = 60.0) -> None:
    """Wait until the reply has played (the sink empties) and the device's buffer with it."""
    speaker.drain_started()
    deadline = time.monotonic() + limit_s
    while speaker.buffered_ms > 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
