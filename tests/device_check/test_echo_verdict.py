"""The echo check's verdict on recorded takes, through the app's real echo canceller.

The takes are built here (the devices' part is tested on PulseAudio in
test_doctor_pulse.py): what a microphone records when the speaker's echo is a linear
copy of the playback (cancellable), when it comes back later than the canceller
searches for it (a speaker with a long output latency: not cancellable), and when
nothing comes back (headphones). Measured aside: AEC3 also "removes" 33 dB of a loud
sound unrelated to the playback (its suppressor works while the far end talks), so the
figure says how much quieter the microphone gets while the app talks, echo or not.
"""

from __future__ import annotations

import numpy as np

from desktop_app.device_check.echo import FIX, judge, phrase
from desktop_app.device_check.sound_io import MIC_BLOCK, MIC_RATE, SPEAKER_BLOCK, Take, to_speaker_rate


def _take(mic16: np.ndarray, played16: np.ndarray) -> Take:
    """Blocks stamped as the callbacks would stamp them: played and recorded in real time."""
    played48 = to_speaker_rate(played16, MIC_RATE)
    take = Take()
    for i in range(played48.size // SPEAKER_BLOCK):
        take.played_blocks.append((played48[i * SPEAKER_BLOCK : (i + 1) * SPEAKER_BLOCK], i * SPEAKER_BLOCK / 48000))
    for i in range(mic16.size // MIC_BLOCK):
        take.mic_blocks.append((mic16[i * MIC_BLOCK : (i + 1) * MIC_BLOCK].astype(np.float32), (i + 1) * MIC_BLOCK / MIC_RATE))
    take.played_samples = played48.size
    return take


def _noise(size: int, dbfs: float, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 10 ** (dbfs / 20), size).astype(np.float32)


def test_a_linear_echo_is_cancelled_and_passes():
    played = phrase(3.0)
    delay = MIC_RATE * 40 // 1000
    echo = np.concatenate([np.zeros(delay, dtype=np.float32), played[:-delay]]) * 0.3
    result = judge(_take(echo + _noise(played.size, -70), played))
    assert result.status.value == "PASS", result.line()
    assert result.figures["removed_db"] >= 15.0 and "the echo canceller removes" in result.detail


def test_an_echo_too_late_to_cancel_fails_with_headphones_as_the_fix():
    played = phrase(3.0)
    delay = MIC_RATE * 1500 // 1000  # 1.5 s: beyond the canceller's delay search
    echo = np.concatenate([np.zeros(delay, dtype=np.float32), played[:-delay]]) * 0.3
    result = judge(_take(echo + _noise(played.size, -70), played))
    assert result.status.value == "FAIL", result.line()
    assert result.figures["removed_db"] < 15.0
    assert result.fix == FIX and "use headphones" in result.line() and "echo cancellation off" in result.line()


def test_no_echo_at_all_passes_as_headphones():
    played = phrase(3.0)
    result = judge(_take(_noise(played.size, -70), played))
    assert result.status.value == "PASS" and result.detail.startswith("no echo reached the microphone"), result.line()
    assert "removed_db" not in result.figures


def test_the_figure_is_the_adapted_cancellers():
    """Hands-free keeps one canceller for the session: the first second, while it adapts,
    does not count (a slow start on a loaded machine once dragged a 4 s median under 15 dB)."""
    from desktop_app.media.echo_canceller import EchoStats

    stats = EchoStats()
    stats.windows_db = [3.0] * 22 + [45.0] * 18  # 2.2 s adapting, then 1.8 s adapted
    assert stats.suppression_db < 15.0
    assert stats.suppression_after(1.0) == 45.0
    stats.windows_db = [3.0] * 12  # too short to leave anything out
    assert stats.suppression_after(1.0) == 3.0
