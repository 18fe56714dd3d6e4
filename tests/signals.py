"""Synthetic signals for hands-free tests: coughs, clicks, rooms with echo."""

from __future__ import annotations

import numpy as np

RATE = 16000


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(RATE * seconds), dtype=np.float32)


def trim(pcm: np.ndarray, level: float = 0.01) -> np.ndarray:
    """Cut leading and trailing silence (Piper clips come padded)."""
    loud = np.nonzero(np.abs(pcm) > level)[0]
    return pcm[loud[0] : loud[-1] + 1] if loud.size else pcm[:0]


def onset(pcm: np.ndarray, level: float = 0.01) -> int:
    """First sample louder than ``level``."""
    return int(np.nonzero(np.abs(pcm) > level)[0][0])


def cough(ms: int = 120, peak: float = 0.5, seed: int = 3) -> np.ndarray:
    """A cough-like burst: noise, slightly low-passed, under a two-hump envelope."""
    rng = np.random.default_rng(seed)
    n = RATE * ms // 1000
    t = np.arange(n) / n
    envelope = np.exp(-(((t - 0.2) / 0.15) ** 2)) + 0.6 * np.exp(-(((t - 0.55) / 0.2) ** 2))
    noise = np.convolve(rng.standard_normal(n), np.ones(4) / 4, mode="same")
    burst = envelope * noise
    return (peak * burst / np.max(np.abs(burst))).astype(np.float32)


def clicks(count: int = 5, spacing_ms: int = 150, seed: int = 4) -> np.ndarray:
    """Keyboard-like clicks: 2.5 ms bursts of noise."""
    rng = np.random.default_rng(seed)
    out = np.zeros(RATE * (count * spacing_ms + 100) // 1000, dtype=np.float32)
    for i in range(count):
        start = RATE * i * spacing_ms // 1000
        out[start : start + 40] = rng.uniform(-0.9, 0.9, 40)
    return out


def room_echo(played: np.ndarray, delay_ms: float, gain: float, reflection_gain: float = 0.0) -> np.ndarray:
    """What a microphone hears of ``played``: a delayed, attenuated copy plus one reflection."""
    out = np.zeros(played.size, dtype=np.float32)
    for ms, g in ((delay_ms, gain), (delay_ms + 25.0, reflection_gain)):
        d = int(RATE * ms / 1000)
        if g and d < played.size:
            out[d:] += g * played[: played.size - d]
    return out


def noise_floor(size: int, level: float = 3e-4, seed: int = 5) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(size) * level).astype(np.float32)
