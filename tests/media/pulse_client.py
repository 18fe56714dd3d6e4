"""The sounddevice side of the PulseAudio round trip, run in its own process.

PortAudio enumerates devices once, when it starts: a fresh process started with
``PULSE_SERVER`` pointing at the private daemon sees its null sinks through the ALSA
"pulse" device.

    python -m tests.media.pulse_client play "TEXT"         # Piper -> Opus -> SpeakerSink
    python -m tests.media.pulse_client record SECONDS OUT   # Microphone -> OUT (.npy)
    python -m tests.media.pulse_client play-after-sleep "A" "B"  # A, the stream sleeps, B
"""

from __future__ import annotations

import asyncio
import sys
import time

import numpy as np

DEVICE = "pulse"  # the ALSA PCM of libasound2-plugins


async def _packets(text: str) -> list[bytes]:
    from desktop_app.backends.tts.piper_local import PiperSynthesizer

    tts = PiperSynthesizer("joe")
    await tts.load()
    try:
        return [packet async for packet in tts.synthesize(text)]
    finally:
        await tts.aclose()


def _play_through(speaker, turn_id: str, packets: list[bytes]) -> None:
    from desktop_app.core.events import AudioPacket

    for sequence, data in enumerate(packets):
        speaker.write(AudioPacket(turn_id, sequence, data))
    speaker.drain_started()
    deadline = time.monotonic() + 60 + len(packets) * 0.02 * 4  # real time, with slack for slow cores
    while speaker.buffered_ms > 0 and time.monotonic() < deadline:
        time.sleep(0.05)


def play(text: str) -> None:
    from desktop_app.media.playback import SpeakerSink

    packets = asyncio.run(_packets(text))
    speaker = SpeakerSink(DEVICE)
    print(f"playing {len(packets)} packets", flush=True)
    _play_through(speaker, "t1", packets)
    time.sleep(0.5)  # the device's own buffer
    speaker.close()
    print("played", flush=True)


def play_after_sleep(first: str, second: str) -> None:
    """The idle stream sleeps (no callbacks), and the next reply wakes it, all of it heard."""
    from desktop_app.media.playback import SpeakerSink

    packets = [asyncio.run(_packets(first)), asyncio.run(_packets(second))]
    speaker = SpeakerSink(DEVICE, idle_sleep_s=0.5)
    _play_through(speaker, "t1", packets[0])
    deadline = time.monotonic() + 20
    while not speaker.asleep and time.monotonic() < deadline:
        time.sleep(0.05)
    calls = speaker._last_callback
    time.sleep(1.0)
    print(f"asleep {speaker.asleep} alive {speaker.alive} callbacks_while_asleep {speaker._last_callback != calls}", flush=True)
    _play_through(speaker, "t2", packets[1])
    time.sleep(0.5)
    print(f"wakes {speaker.wakes} alive {speaker.alive}", flush=True)
    speaker.close()
    print("played", flush=True)


def record(seconds: float, out: str) -> None:
    from desktop_app.media.microphone import Microphone

    mic = Microphone(DEVICE)
    mic.start()
    print("recording", flush=True)
    time.sleep(seconds)
    pcm = mic.stop()
    np.save(out, pcm)
    print(f"recorded {pcm.size} samples", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "play":
        play(sys.argv[2])
    elif sys.argv[1] == "play-after-sleep":
        play_after_sleep(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "record":
        record(float(sys.argv[2]), sys.argv[3])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
