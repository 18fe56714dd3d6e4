"""What the echo canceller does to words said over a reply, with and without an echo path.

    .venv/bin/python benchmarks/echo_path.py
    .venv/bin/python benchmarks/echo_path.py --rounds 3

Synthetic rooms, through the real AEC3 (livekit), Silero VAD and tiny.en: a Piper reply
plays; 3 s into it the user says one of four interruptions; the reply stops 550 ms later,
as a barge-in would. For each room, the canceller steps aside when it finds no echo path
(``EchoCanceller.steps_aside``, what the app does) and does not (before), in one run,
alternating. Reported: the word error of what tiny.en hears from 200 ms before the user,
how often their first word is kept, the verdict, and the canceller's CPU per second of
reply. Then the echo alone (no user) through each room: turns the VAD starts with a
barge-in's 500 ms of speech (raw microphone for comparison): none may come through.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.backends.asr.vad import SileroVoiceActivity  # noqa: E402
from desktop_app.backends.asr.whisper_local import WhisperRecognizer  # noqa: E402
from desktop_app.core.turn_detector import SpeechStarted, TurnDetector  # noqa: E402
from desktop_app.media.echo_canceller import EchoCanceller  # noqa: E402
from tests.signals import RATE, noise_floor, room_echo, silence, trim  # noqa: E402
from tests.speech import first_word_kept, speech_pcm, word_error_rate  # noqa: E402

REPLY = (
    "The weather today is sunny with a light breeze from the west. Tomorrow it will rain in the afternoon, "
    "so take an umbrella. On the weekend the sun returns and the wind will calm down."
)
USERS = ["Wait, what is the capital of Italy?", "Hold on, how tall is the Eiffel tower?", "Stop, tell me about the moon instead.", "Sorry, what time does the train leave?"]
ROOMS = {"headphones": 0.0, "quiet speaker (-44 dB)": 10 ** (-44 / 20), "laptop speaker (-9 dB)": 0.35}
BLOCK = 320  # 20 ms, as the window's microphone hands them over


def run_canceller(steps_aside: bool, played: np.ndarray, mic: np.ndarray, detector: TurnDetector | None = None):
    EchoCanceller.steps_aside = steps_aside
    canceller = EchoCanceller()
    out, turns = [], 0
    started = time.process_time()
    for offset in range(0, mic.size, BLOCK):
        canceller.push_playback(played[offset : offset + BLOCK], RATE)
        block = canceller.process(mic[offset : offset + BLOCK])
        out.append(block)
        if detector is not None:
            turns += sum(isinstance(e, SpeechStarted) for e in detector.feed(block))
    cpu = (time.process_time() - started) / (mic.size / RATE) * 100
    EchoCanceller.steps_aside = True
    return np.concatenate(out), canceller.echo_path.value, cpu, turns


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    asr = WhisperRecognizer("tiny.en", Path(tempfile.gettempdir()) / "aiwebcam-bench-models")
    await asr.load()
    reply = np.concatenate([silence(0.2), speech_pcm(REPLY)])
    results: dict[tuple[str, bool], dict[str, list]] = {}
    for round_ in range(args.rounds):
        for room, gain in ROOMS.items():
            for i, sentence in enumerate(USERS):
                user = trim(speech_pcm(sentence))
                at, total = 3 * RATE, 3 * RATE + user.size + RATE
                played = np.zeros(total, dtype=np.float32)
                played[: at + 550 * RATE // 1000] = reply[: at + 550 * RATE // 1000]
                mic = noise_floor(total)
                mic[at : at + user.size] += user
                if gain:
                    mic += room_echo(played, 60, gain, gain / 5)
                order = (True, False) if (round_ + i) % 2 == 0 else (False, True)
                for steps_aside in order:
                    cleaned, verdict, cpu, _ = run_canceller(steps_aside, played, mic)
                    heard = (await asr.transcribe(cleaned[at - 3200 :])).text
                    r = results.setdefault((room, steps_aside), {"wer": [], "first": [], "verdict": [], "cpu": [], "heard": []})
                    r["wer"].append(word_error_rate(sentence, heard))
                    r["first"].append(first_word_kept(sentence, heard))
                    r["verdict"].append(verdict)
                    r["cpu"].append(cpu)
                    r["heard"].append(heard)
    print(f"{'room':26} {'canceller':12} {'WER mean':>8} {'first word':>10} {'verdicts':>16} {'CPU % p50':>9}")
    for (room, steps_aside), r in results.items():
        verdicts = ",".join(sorted(set(r["verdict"])))
        print(f"{room:26} {'steps aside' if steps_aside else 'always AEC3':12} {statistics.mean(r['wer']):8.2f} "
              f"{sum(r['first'])}/{len(r['first']):<8} {verdicts:>16} {statistics.median(r['cpu']):9.2f}")
        for text in r["heard"][: len(USERS)]:
            print(f"    heard: {text!r}")
    echo_reply = np.concatenate([reply, reply])
    print("\nthe echo alone, 2 replies: turns started (a barge-in's 500 ms of speech)")
    for room, gain in ROOMS.items():
        mic = noise_floor(echo_reply.size) + (room_echo(echo_reply, 60, gain, gain / 5) if gain else 0)
        counts = {}
        for label, steps_aside in (("steps aside", True), ("always AEC3", False)):
            detector = TurnDetector(SileroVoiceActivity())
            detector.set_min_speech_ms(500)
            counts[label] = run_canceller(steps_aside, echo_reply, mic, detector)[3]
        raw = TurnDetector(SileroVoiceActivity())
        raw.set_min_speech_ms(500)
        counts["raw microphone"] = sum(
            sum(isinstance(e, SpeechStarted) for e in raw.feed(mic[o : o + BLOCK])) for o in range(0, mic.size, BLOCK)
        )
        print(f"  {room:26} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))


if __name__ == "__main__":
    asyncio.run(main())
