"""Is there an echo path at all? With headphones there is none, and the canceller should step aside.

AEC3 is not transparent while a reply plays, even with nothing to cancel. With no echo in
the microphone (synthetic, AMD EPYC) it took 5-6 dB off the room's background, damped
the onset of the user's voice by 26-60 dB, and the first word of a user talking over the
reply ("Wait,", "Hold on,", "Stop,", "Sorry,") was lost in 4 of 4 cases; the raw
microphone kept all four. A room with an echo path shows the opposite: 30-55 dB off the
microphone wherever only the echo is in it.

:class:`EchoPathMonitor` watches AEC3 while the playback is audible, per 100 ms window of
the microphone, and keeps one of three verdicts:

* ``UNKNOWN`` (each reply starts so) and ``HEARD``: the cancelled microphone is used;
* ``NONE``: the raw microphone is used (AEC3 still runs beside it).

Evidence, window by window (neither: the user talks and AEC3 leaves it, or the microphone
delivers zeros, muted: nothing learnt):

* an *echo* window: AEC3 took at least ``ECHO_DB`` off the microphone;
* a *quiet* window: it took less, and the microphone was at least ``QUIET_BELOW_DB``
  under the playback. A room's echo from a quiet laptop speaker (-34 dB coupling) is
  still removed by 15-30 dB; a misaligned canceller in a room with echo leaves the
  microphone loud, so it never reads as quiet.

``NONE`` needs ``NONE_OF`` quiet windows among the last ``WINDOWS`` (2 s of audible reply
at the soonest), and the microphone's level in them must not follow the playback's
(``FOLLOWS``, over delays up to 600 ms): an echo 44-50 dB under the playback sits at a
room's noise floor, AEC3 leaves it, and the VAD still heard speech in it (synthetic: it
started turns). ``HEARD`` needs ``HEARD_OF`` echo windows among the last ``RECENT``: the
onset of the user's voice fools AEC3 for up to four windows (the spikes above), a room's
echo lasts as long as the reply.

``NONE`` holds until the reply ends: a user talking over it fools AEC3 for as long as
they talk (six of eight windows read as echo in the window on PulseAudio, and their
words were damped again), and so did a watch on the microphone's level (its correlation
with the playback's crossed the bar on a user's voice in CI). So a speaker unmuted, or
headphones unplugged, in the middle of a reply that had no echo until then leave that
reply's echo uncancelled until it ends.

Every reply is judged afresh (:meth:`EchoPathMonitor.reset`): hands-free says when a turn
is submitted or a reply cut (``EchoCanceller.next_reply``), and two seconds of silent
playback count as a new reply too. So headphones unplugged between replies cost nothing
(synthetic: the next reply's echo started no turn).
"""

from __future__ import annotations

from collections import deque
from enum import Enum

import numpy as np

WINDOW_FRAMES = 10  # 10 ms frames: 100 ms windows
AUDIBLE_DB = -45.0  # playback at least this loud (dBFS) in a window: an echo would be there
ECHO_DB = 12.0
QUIET_BELOW_DB = 30.0
WINDOWS = 20
NONE_OF = 17
RECENT = 8
HEARD_OF = 6
LEVEL_FRAMES = 2  # levels over 20 ms (playback may come in pairs of 10 ms frames)
ENVELOPE = 150  # the last 3 s of levels, microphone and playback
MAX_LAG = 30  # an echo comes back within 600 ms (output + input latency + the room; Bluetooth)
FOLLOWS = 0.35  # the microphone's level follows the playback's at least this well: an echo
_FLOOR = 1e-12
_DIGITAL_SILENCE = 1e-7  # a window's energy: a microphone that delivers zeros (muted: nothing learnt)
_LEVEL_FLOOR_DB = -100.0


class EchoPath(Enum):
    UNKNOWN = "unknown"
    HEARD = "heard"
    NONE = "none"


class EchoPathMonitor:
    def __init__(self) -> None:
        self._evidence: deque[bool] = deque(maxlen=WINDOWS)  # True: an echo window
        self._mic_levels: deque[float] = deque(maxlen=ENVELOPE)
        self._play_levels: deque[float] = deque(maxlen=ENVELOPE)
        self._quiet_levels: deque[bool] = deque(maxlen=ENVELOPE)  # in a quiet window (the user not talking)
        self.follows = 0.0  # how well the microphone's level followed the playback's, last judged
        self.reset()

    def reset(self) -> None:
        """A new reply: judged afresh. Headphones may have been unplugged since the last
        one, and a room's echo is let through raw until AEC3 has found its new path (1.4 s
        in a synthetic test; the echo then interrupted the reply): each reply starts
        cancelled, and the microphone goes raw only once this reply showed no echo."""
        self.verdict = EchoPath.UNKNOWN
        self._evidence.clear()
        self._mic_levels.clear()
        self._play_levels.clear()
        self._quiet_levels.clear()
        self._near = self._cleaned = 0.0
        self._played = self._played_samples = 0.0
        self._samples = self._frames = 0
        self._level_mic = self._level_play = self._level_play_samples = 0.0
        self._last_play_level = _LEVEL_FLOOR_DB

    def add(self, near: np.ndarray, cleaned: np.ndarray, played: np.ndarray) -> None:
        """One 10 ms frame: the microphone, AEC3's output for it, the playback handed over
        with it (none, one or a few 10 ms frames: playback and microphone callbacks come
        in bunches; levels are taken over the playback that arrived, not the frame count).
        Nothing to do once this reply is judged to have no echo path: that holds until reset."""
        if self.verdict is EchoPath.NONE:
            return
        near_power = float(np.mean(np.square(near, dtype=np.float64)))
        play_energy = float(np.sum(np.square(played, dtype=np.float64))) if played.size else 0.0
        self._level_mic += near_power
        self._level_play += play_energy
        self._level_play_samples += played.size
        self._near += near_power * near.size
        self._cleaned += float(np.sum(np.square(cleaned, dtype=np.float64)))
        self._played += play_energy
        self._played_samples += played.size
        self._samples += near.size
        self._frames += 1
        if self._frames % LEVEL_FRAMES == 0:
            self._mic_levels.append(_level_db(self._level_mic / LEVEL_FRAMES))
            if self._level_play_samples:  # (none arrived: the level holds)
                self._last_play_level = _level_db(self._level_play / self._level_play_samples)
            self._play_levels.append(self._last_play_level)
            self._quiet_levels.append(False)  # (until its window is judged)
            self._level_mic = self._level_play = self._level_play_samples = 0.0
        if self._frames == WINDOW_FRAMES:
            played_power = self._played / self._played_samples if self._played_samples else 0.0
            self._judge(self._near, self._cleaned, played_power * self._samples)
            self._near = self._cleaned = 0.0
            self._played = self._played_samples = 0.0
            self._samples = self._frames = 0

    def _judge(self, near: float, cleaned: float, played: float) -> None:
        """``played``: the playback's energy over as many samples as ``near``'s."""
        if played < _power_at(AUDIBLE_DB) * WINDOW_FRAMES * 160 or near <= _DIGITAL_SILENCE:
            return  # nothing audible played, or a muted microphone: nothing learnt
        if 10.0 * np.log10(near / max(cleaned, _FLOOR)) >= ECHO_DB:
            self._evidence.append(True)
        elif 10.0 * np.log10(played / near) >= QUIET_BELOW_DB:
            self._evidence.append(False)
            self._mark_quiet()
        else:
            return
        recent = list(self._evidence)[-RECENT:]
        if sum(recent) >= HEARD_OF:
            self.verdict = EchoPath.HEARD
        elif len(self._evidence) == WINDOWS and WINDOWS - sum(self._evidence) >= NONE_OF:
            # Quiet, but an echo at the room's noise floor is still heard by the VAD
            # (synthetic, -44 dB coupling: it started turns): its level follows the reply's.
            follows = _follows(self._mic_levels, self._play_levels, self._quiet_levels)
            if follows is not None:
                self.follows = follows
                self.verdict = EchoPath.NONE if follows < FOLLOWS else EchoPath.HEARD
        
    def _mark_quiet(self) -> None:
        for i in range(1, min(WINDOW_FRAMES // LEVEL_FRAMES, len(self._quiet_levels)) + 1):
            self._quiet_levels[-i] = True


def _follows(mic: deque[float], played: deque[float], quiet: deque[bool]) -> float | None:
    """The best correlation of the microphone's level with the playback's (20 ms levels
    in dB), over the delays an echo can have (0-600 ms), in the marked windows only (the
    user's voice would hide an echo at the noise floor). Synthetic, 2-3 s of a reply:
    0.05-0.13 with no echo, 0.6-0.7 with an echo 44-50 dB under the playback, at the
    room's noise floor. None: too little to tell (fewer than 20 levels, or levels that
    do not vary)."""
    x = np.asarray(mic)
    y = np.asarray(played)
    keep = np.asarray(quiet)
    lags = min(MAX_LAG, x.size - 1)
    if lags < 0:
        return None
    # row k: the playback k levels before each microphone level from index ``lags`` on
    shifted = np.lib.stride_tricks.sliding_window_view(y, lags + 1)[:, ::-1].T  # (lags+1, n)
    take = keep[lags:]
    if take.sum() < 20:
        return None
    a = x[lags:][take]
    b = shifted[:, take]
    a = a - a.mean()
    b = b - b.mean(axis=1, keepdims=True)
    spread = np.sqrt(np.sum(a * a) * np.sum(b * b, axis=1))
    valid = spread > 1e-6
    if not valid.any():
        return None
    return float(np.max((b @ a)[valid] / spread[valid]))


def _level_db(power: float) -> float:
    return 10.0 * np.log10(power) if power > 10.0 ** (_LEVEL_FLOOR_DB / 10.0) else _LEVEL_FLOOR_DB


def _power_at(dbfs: float) -> float:
    """Mean square of a signal at ``dbfs``."""
    return 10.0 ** (dbfs / 10.0)
