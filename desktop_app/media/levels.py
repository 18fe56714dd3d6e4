"""Loudness in dBFS (for the device check and the voice's onset), and the test signals the checks play."""

from __future__ import annotations

import numpy as np

FLOOR_DB = -120.0  # what digital silence reads as


def dbfs(pcm: np.ndarray) -> float:
    """RMS level relative to full scale (a full-scale sine reads -3 dBFS)."""
    if pcm.size == 0:
        return FLOOR_DB
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    return max(FLOOR_DB, 20.0 * np.log10(rms)) if rms > 0 else FLOOR_DB


def peak_dbfs(pcm: np.ndarray) -> float:
    peak = float(np.max(np.abs(pcm))) if pcm.size else 0.0
    return max(FLOOR_DB, 20.0 * np.log10(peak)) if peak > 0 else FLOOR_DB


def window_levels(pcm: np.ndarray, rate: int, ms: int = 100) -> np.ndarray:
    """dBFS of each ``ms`` window (the last partial window dropped)."""
    size = rate * ms // 1000
    whole = pcm.size // size * size
    if not whole:
        return np.zeros(0)
    rms = np.sqrt(np.mean(np.square(pcm[:whole].reshape(-1, size), dtype=np.float64), axis=1))
    return np.maximum(FLOOR_DB, 20.0 * np.log10(np.maximum(rms, 1e-12)))


def tone(frequency: float, seconds: float, rate: int, level_dbfs: float = -12.0) -> np.ndarray:
    """A sine with 20 ms fades (no clicks), at ``level_dbfs`` peak."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = np.sin(2 * np.pi * frequency * t) * 10 ** (level_dbfs / 20)
    fade = min(pcm.size // 2, rate // 50)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        pcm[:fade] *= ramp
        pcm[-fade:] *= ramp[::-1]
    return pcm.astype(np.float32)
