"""Microphone: its live level while you talk for a few seconds, then the recording played back."""

from __future__ import annotations

import asyncio

import numpy as np

from desktop_app.device_check.context import CheckContext
from desktop_app.media.levels import FLOOR_DB, dbfs, peak_dbfs, window_levels
from desktop_app.device_check.result import CheckResult, failed, passed
from desktop_app.device_check.sound_io import MIC_RATE, DeviceProblem, play_and_record, to_speaker_rate

NAME = "microphone"
SILENT_DB = -80.0  # loudest 100 ms below this: the microphone delivers (digital) silence
QUIET_DB = -50.0  # loudest 100 ms below this: only a noise floor, nobody was heard
CLIPPED = 0.999  # a sample this close to full scale is clipped
CLIPPED_SHARE = 0.001  # more than this share of clipped samples: too loud


async def check_microphone(ctx: CheckContext) -> CheckResult:
    ctx.on_progress(f"{NAME}: opening {ctx.input_label}...")
    talk = ctx.progress_from_thread(f"{NAME}: recording {ctx.seconds:.0f} s: say something now...")
    try:
        take = await asyncio.to_thread(play_and_record, None, ctx.input_device, None, ctx.seconds, ctx.on_level, talk)
    except DeviceProblem as exc:
        return failed(NAME, exc.detail, exc.fix)
    pcm = take.mic
    windows = window_levels(pcm, MIC_RATE)
    loudest = float(windows.max()) if windows.size else FLOOR_DB
    level, peak = dbfs(pcm), peak_dbfs(pcm)
    figures = {"level_dbfs": round(level, 1), "loudest_dbfs": round(loudest, 1), "peak_dbfs": round(peak, 1), "seconds": pcm.size / MIC_RATE}
    measured = f"{ctx.input_label}: level {_db(level)}, loudest 100 ms {_db(loudest)}, peak {_db(peak)} over {pcm.size / MIC_RATE:.1f} s"
    if loudest < SILENT_DB:
        return failed(
            NAME,
            f"{measured}: it records silence",
            "unmute the microphone and raise its input volume in the system's sound settings, or pick another one in Settings",
            **figures,
        )
    if loudest < QUIET_DB:
        return failed(NAME, f"{measured}: only background noise, no voice", "speak during the check; if you did, raise the input volume or move closer", **figures)
    played = await _play_back(ctx, pcm)
    clipped = float(np.mean(np.abs(pcm) >= CLIPPED))
    note = f"; {clipped:.1%} of it clipped: lower the input volume" if clipped > CLIPPED_SHARE else ""
    return passed(NAME, f"{measured}; {played}{note}", **figures)


async def _play_back(ctx: CheckContext, pcm: np.ndarray) -> str:
    ctx.on_progress(f"{NAME}: playing the recording back on {ctx.output_label}...")
    try:
        await asyncio.to_thread(play_and_record, ctx.output_device, None, to_speaker_rate(pcm, MIC_RATE))
    except DeviceProblem as exc:
        return f"not played back ({exc.detail})"
    return "played back on the speaker"


def _db(value: float) -> str:
    return "silence" if value <= FLOOR_DB else f"{value:.1f} dBFS"
