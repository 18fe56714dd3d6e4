"""What shrinking Piper's ONNX arena after every run costs, and what it saves.

    .venv/bin/python benchmarks/piper_arena.py --sentences 30

Two voices in one process: Piper as it loads itself (onnxruntime's CPU arena kept) and
the app's ``load_voice`` (the arena shrunk after every run). Timing is interleaved, in
random order, on the same sentences: a reply's first chunk (4 words, after a long
sentence, as in a reply) and whole sentences. Memory is measured in fresh processes,
one per voice, over the same chunked sentences (2-32 words, what the chunker sends).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = "the lighthouse keeper walked along the shore and watched the sea as waves crashed on rocks under a grey sky".split()
FIRST_CHUNKS = ("Sure, here it is.", "The capital of France", "Bees make honey.", "A spider has eight", "Well, that depends on")
LONG = "The lighthouse keeper climbed the long stairs every evening to light the lamp, and he watched the sea."


def arena_voice():
    from piper import PiperVoice

    from desktop_app.bundled_models import piper_voice

    model, config = piper_voice("joe")
    return PiperVoice.load(str(model), config_path=str(config))


def app_voice():
    from desktop_app.backends.tts.piper_local import load_voice

    return load_voice("joe")


def sentences(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(min(32, int(rng.expovariate(1 / 12)) + 2))) + "." for _ in range(count)]


def say(voice, text: str) -> float:
    started = time.perf_counter()
    for _ in voice.synthesize(text):
        pass
    return (time.perf_counter() - started) * 1000


def memory(kind: str, count: int) -> dict:
    """In this (fresh) process: RSS after warming up, and its highest after each sentence."""

    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    voice = arena_voice() if kind == "arena" else app_voice()
    say(voice, "Hello there.")
    start, series = rss_mb(), []
    for text in sentences(count):
        say(voice, text)
        series.append(rss_mb())
    return {"start_mb": round(start), "end_mb": round(series[-1]), "max_mb": round(max(series))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=30)
    parser.add_argument("--memory-of", choices=("arena", "app"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_of:
        print(json.dumps(memory(args.memory_of, args.sentences * 2)))
        return
    cpu = next((line.split(":", 1)[1].strip() for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines() if line.startswith("Model name")), "?")
    voices = {"arena kept": arena_voice(), "shrunk (the app)": app_voice()}
    first = {name: [] for name in voices}
    whole = {name: [] for name in voices}
    for i, text in enumerate(sentences(args.sentences, seed=2)):
        names = list(voices)
        random.shuffle(names)
        for name in names:
            say(voices[name], LONG)
            first[name].append(say(voices[name], FIRST_CHUNKS[i % len(FIRST_CHUNKS)]))
            whole[name].append(say(voices[name], text))
    print(f"CPU: {cpu}; {args.sentences} rounds, interleaved")
    for name in voices:
        print(f"  {name:17s} first chunk p50 {statistics.median(first[name]):6.1f} ms; sentence p50 {statistics.median(whole[name]):6.1f} ms")
    print(f"  shrunk / kept: first chunk {statistics.median([b / a for a, b in zip(*first.values())]):.3f}, sentence {statistics.median([b / a for a, b in zip(*whole.values())]):.3f}")
    for kind in ("arena", "app"):
        out = subprocess.run([sys.executable, __file__, "--memory-of", kind, "--sentences", str(args.sentences)], capture_output=True, text=True, check=True)
        print(f"  RSS over {args.sentences * 2} sentences, {kind}: {out.stdout.strip()}")


if __name__ == "__main__":
    main()
