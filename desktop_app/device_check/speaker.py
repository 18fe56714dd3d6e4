"""Speaker: a short test tone on the output device."""

from __future__ import annotations

import asyncio

from desktop_app.device_check.context import CheckContext
from desktop_app.media.levels import tone
from desktop_app.device_check.result import CheckResult, failed, passed
from desktop_app.device_check.sound_io import SPEAKER_RATE, DeviceProblem, play_and_record

NAME = "speaker"
FREQUENCY = 440.0
SECONDS = 1.5
LEVEL_DB = -12.0


async def check_speaker(ctx: CheckContext) -> CheckResult:
    ctx.on_progress(f"{NAME}: opening {ctx.output_label}...")
    beep = ctx.progress_from_thread(f"{NAME}: playing a {FREQUENCY:.0f} Hz test tone: you should hear a beep...")
    signal = tone(FREQUENCY, SECONDS, SPEAKER_RATE, LEVEL_DB)
    try:
        take = await asyncio.to_thread(play_and_record, ctx.output_device, None, signal, 0.0, None, beep)
    except DeviceProblem as exc:
        return failed(NAME, exc.detail, exc.fix)
    seconds = take.played_samples / SPEAKER_RATE
    return passed(
        NAME,
        f"{ctx.output_label}: {seconds:.1f} s test tone ({FREQUENCY:.0f} Hz, {LEVEL_DB:.0f} dBFS) played; "
        "if you heard nothing, raise the volume or pick another speaker in Settings",
        seconds=seconds,
    )
