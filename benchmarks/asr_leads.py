"""Transcription and where speech starts: the app's Whisper path against faster-whisper's own.

Every phrase is spoken by two voices (Piper "joe", the app's own, and espeak-ng), cut to
its first and last audible sample, and placed after 0 to 1 s of leading silence with
0.3 s of silence after it. Each clip is transcribed, with the same loaded tiny.en model,
by:

* ``app``: ``WhisperRecognizer._transcribe_blocking`` (Silero VAD trim, then the short
  encoder window of ``whisper_short.py``);
* ``fw``: faster-whisper's own ``model.transcribe`` (30 s window, greedy, no timestamps),
  ``vad_filter`` off, and ``fw+vad`` with it on;
* ``browser``: the clip encoded to 48 kHz Opus with the app's encoder
  (``desktop_app.media.opus.OpusEncoder``), decoded by aiortc's Opus decoder (48 kHz
  stereo, as a browser's microphone arrives), turned to 16 kHz mono by the server's
  ``MicrophoneResampler`` frame by frame, then the app's transcriber.

faster-whisper's own path falls back to sampling at higher temperatures when a greedy
decode looks poor; the sampling is seeded here (``ctranslate2.set_random_seed(0)``) so
that a run repeats. The self-test's question (``resources/self_test_question.wav``) is
transcribed too, by the app's path and the browser path.

Prints the mean word error (tests/speech.py's normalisation, jiwer), how often the
first word is right, per path, per lead and per voice, and the median time per clip.

Run from the repository root::

    .venv/bin/python benchmarks/asr_leads.py [--json] [--verbose]
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from desktop_app.media.audio_file import load_audio  # noqa: E402
from tests.speech import VOICES, first_word_kept, voice_speech, with_lead, word_error_rate  # noqa: E402

RATE = 16000
SELF_TEST_QUESTION = "What is the capital of France?"
PHRASES = [
    "Paris is the capital of France.",
    "Turn on the kitchen lights.",
    SELF_TEST_QUESTION,
    "Can you see me clearly?",
    "How do I reverse a list in Python?",
    "Please summarize what we talked about.",
    "Tell me a joke about computers.",
    "Book a meeting with Sarah tomorrow morning.",
    "Do you think it will rain this afternoon?",
    "Could you speak a little more slowly?",
    "Stop, that is not what I meant.",
    "Good morning, how are you today?",
    "Explain how a rainbow forms.",
    "Is my microphone working?",
    "Write an email to my landlord about the heating.",
    "Which planet is closest to the sun?",
    "Thanks, that was very helpful.",
    "Translate good night into Spanish.",
    "Bring up the slides from yesterday.",
    "Give me some ideas for dinner.",
    "Keep it short, please.",
    "Why is the sky blue?",
    "What time is it in Tokyo right now?",
    "Can you hear me okay?",
    "Remind me to call my mother tonight.",
    "How long should I boil an egg?",
    "Open the document I was working on.",
    "What does this error message mean?",
    "Show me the weather for the weekend.",
    "Pause the music for a moment.",
    "How far is the moon from the earth?",
    "Let me share my screen with you.",
    "Do you know any good books about history?",
    "Repeat that last sentence, please.",
    "Find a cheap flight to London next month.",
    "Where did I leave my keys?",
    "Make the text a little bigger.",
    "Who won the football match yesterday?",
    "Could you check my spelling in this paragraph?",
    "Please turn off the camera.",
    "I have a question about my invoice.",
    "Play something relaxing.",
    "Convert my dollars to euros.",
    "Describe what you see in this picture.",
    "Cancel my meeting this afternoon.",
    "Tell me more about black holes.",
    "Send the report to the whole team.",
    "Can we start the lesson again?",
    "My internet connection is very slow.",
    "Suggest a name for my new puppy.",
    "Good evening, I need some help.",
    "Count backwards slowly.",
]
LEADS = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.0]
TAIL_S = 0.3
PATHS = ("app", "fw", "fw+vad", "browser")
TRIM_LEVEL = 0.01  # as tests/signals.py's trim(): each clip starts at its first sample above it


def browser_audio(pcm: np.ndarray) -> np.ndarray:
    """``pcm`` as the server gets it from a browser: Opus 48 kHz -> aiortc -> 16 kHz mono."""
    from aiortc.codecs.opus import OpusDecoder
    from aiortc.jitterbuffer import JitterFrame

    from desktop_app.media.audio_file import float_to_int16
    from desktop_app.media.opus import FRAME_SAMPLES, OpusEncoder
    from desktop_app.server.peer import MicrophoneResampler

    packets = OpusEncoder().encode(float_to_int16(pcm), RATE, final=True)
    decoder, resampler = OpusDecoder(), MicrophoneResampler()
    out = []
    for i, packet in enumerate(packets):
        for frame in decoder.decode(JitterFrame(data=packet, timestamp=i * FRAME_SAMPLES)):
            out.append(resampler.convert(frame))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def fw_transcribe(model, pcm: np.ndarray, vad: bool) -> str:
    segments, _ = model.transcribe(
        pcm,
        language="en",
        beam_size=1,
        without_timestamps=True,
        condition_on_previous_text=False,
        vad_filter=vad,
    )
    return " ".join(s.text.strip() for s in segments if s.text.strip()).strip()


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def encoder_ms(model, seconds: float, repeats: int = 5) -> float:
    """Median time of Whisper's encoder alone on a window of ``seconds``."""
    import ctranslate2

    features = model.feature_extractor(np.zeros(int(RATE * seconds), dtype=np.float32))
    frames = min(3000, (features.shape[-1] // 2) * 2)
    features = np.ascontiguousarray(features[None, :, :frames], dtype=np.float32)
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        model.model.encode(ctranslate2.StorageView.from_array(features), to_cpu=False)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times[1:])


def run(phrases: list[str], leads: list[float], voices: tuple[str, ...], paths: tuple[str, ...], log, trim_level: float = TRIM_LEVEL) -> dict:
    import ctranslate2

    from desktop_app.backends.asr.whisper_local import WhisperRecognizer

    ctranslate2.set_random_seed(0)
    recognizer = WhisperRecognizer("tiny.en", Path.home() / ".cache" / "aiwebcam" / "models")
    recognizer._model = recognizer._load_blocking()
    model = recognizer._model
    rows = []
    started = time.perf_counter()
    for phrase in phrases:
        for voice in voices:
            speech = voice_speech(phrase, voice, trim_level)
            for lead in leads:
                pcm = with_lead(speech, lead)
                row = {"phrase": phrase, "voice": voice, "lead": lead, "speech_s": round(speech.size / RATE, 2)}
                for path in paths:
                    if path == "browser":
                        t0 = time.perf_counter()
                        audio = browser_audio(pcm)
                        row["opus_ms"] = (time.perf_counter() - t0) * 1000
                    else:
                        audio = pcm
                    t0 = time.perf_counter()
                    if path in ("app", "browser"):
                        text = recognizer._transcribe_blocking(audio).text
                    else:
                        text = fw_transcribe(model, audio, vad=path == "fw+vad")
                    ms = (time.perf_counter() - t0) * 1000
                    row[path] = {"text": text, "wer": word_error_rate(phrase, text), "first": first_word_kept(phrase, text), "ms": ms}
                rows.append(row)
                log(row)
    question = load_audio(ROOT / "resources" / "self_test_question.wav")
    self_test = {"app": recognizer._transcribe_blocking(question).text, "browser": recognizer._transcribe_blocking(browser_audio(question)).text}
    from desktop_app.backends.asr import whisper_short

    window_s = getattr(whisper_short, "MIN_FRAMES", 1000) * whisper_short.HOP / RATE
    timing = {"app_window_s": window_s, "encoder_ms": {f"{s:g}": encoder_ms(model, s) for s in sorted({10.0, window_s, 30.0})}}
    return {"rows": rows, "timing": timing, "self_test": self_test, "seconds": time.perf_counter() - started}


def summarize(rows: list[dict], paths: tuple[str, ...]) -> dict:
    def stats(subset: list[dict], path: str) -> dict:
        return {
            "wer": float(np.mean([r[path]["wer"] for r in subset])),
            "first": float(np.mean([r[path]["first"] for r in subset])),
            "n": len(subset),
        }

    out: dict = {"overall": {p: stats(rows, p) for p in paths}}
    out["by_lead"] = {str(lead): {p: stats([r for r in rows if r["lead"] == lead], p) for p in paths} for lead in sorted({r["lead"] for r in rows})}
    out["by_voice"] = {v: {p: stats([r for r in rows if r["voice"] == v], p) for p in paths} for v in sorted({r["voice"] for r in rows})}
    out["median_ms"] = {p: float(np.median([r[p]["ms"] for r in rows])) for p in paths}
    if "browser" in paths:
        out["median_opus_ms"] = float(np.median([r["opus_ms"] for r in rows]))
    return out


def table(summary: dict, paths: tuple[str, ...]) -> str:
    lines = []
    head = "| | " + " | ".join(paths) + " |"
    sep = "|---|" + "---|" * len(paths)
    cell = lambda s: f"{s['wer']:.3f} / {s['first'] * 100:.0f} %"  # noqa: E731
    lines += ["mean word error / first word right", "", head, sep]
    lines.append("| **all** | " + " | ".join(cell(summary["overall"][p]) for p in paths) + " |")
    for voice, by_path in summary["by_voice"].items():
        lines.append(f"| {voice} | " + " | ".join(cell(by_path[p]) for p in paths) + " |")
    for lead, by_path in summary["by_lead"].items():
        lines.append(f"| lead {float(lead):.2f} s | " + " | ".join(cell(by_path[p]) for p in paths) + " |")
    lines.append("| median ms per clip | " + " | ".join(f"{summary['median_ms'][p]:.0f}" for p in paths) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (rows and summary) as the last line")
    parser.add_argument("--verbose", action="store_true", help="print every clip whose first word or words are wrong")
    parser.add_argument("--phrases", type=int, default=len(PHRASES), help="only the first N phrases")
    parser.add_argument("--leads", type=str, default=",".join(str(x) for x in LEADS), help="comma-separated leading silences, s")
    parser.add_argument("--voices", type=str, default=",".join(VOICES))
    parser.add_argument("--paths", type=str, default=",".join(PATHS))
    parser.add_argument("--trim-level", type=float, default=TRIM_LEVEL, help="where each voice's clip starts and ends (peak level)")
    args = parser.parse_args(argv)
    phrases = PHRASES[: args.phrases]
    leads = [float(x) for x in args.leads.split(",")]
    voices = tuple(v for v in args.voices.split(",") if v)
    paths = tuple(p for p in args.paths.split(",") if p)

    def log(row: dict) -> None:
        if not args.verbose:
            return
        for path in paths:
            r = row[path]
            if r["wer"] > 0 or not r["first"]:
                print(f"{row['voice']:6} lead {row['lead']:.2f} {path:8} wer {r['wer']:.2f} {row['phrase']!r} -> {r['text']!r}", flush=True)

    result = run(phrases, leads, voices, paths, log, args.trim_level)
    summary = summarize(result["rows"], paths)
    cpu = cpu_model()
    print(f"CPU: {cpu}; {len(phrases)} phrases x {len(voices)} voices x {len(leads)} leads = {len(result['rows'])} clips, "
          f"tail {TAIL_S} s; {result['seconds']:.0f} s; {datetime.date.today()}")
    print(table(summary, paths))
    timing = result["timing"]
    extra = "Whisper encoder alone: " + ", ".join(f"{s} s window {ms:.0f} ms" for s, ms in timing["encoder_ms"].items())
    extra += f" (the app's window: {timing['app_window_s']:g} s)"
    if "median_opus_ms" in summary:
        extra += f"; Opus encode+decode+resample {summary['median_opus_ms']:.0f} ms per clip"
    print(extra)
    print(f"self-test question {SELF_TEST_QUESTION!r}: app {result['self_test']['app']!r}, browser {result['self_test']['browser']!r}")
    if args.json:
        print(json.dumps({"cpu": cpu, "phrases": phrases, "leads": leads, "voices": voices, "paths": paths,
                          "summary": summary, "timing": timing, "self_test": result["self_test"], "rows": result["rows"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
