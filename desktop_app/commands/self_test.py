"""``aiwebcam --self-test``: check an installation end to end, headless and offline.

Runs in a source checkout, a venv install and the frozen (PyInstaller) bundle alike.
Each step prints ``PASS``/``FAIL`` with its time; the exit status is 0 only when every
step passed. It always uses the embedded models (never a network service) and writes
its conversation to a temporary folder, never to the user's history. The LLM is the
configured embedded one (default Qwen2.5-Coder-1.5B, assembled from the bundled parts
on first use, with progress on stderr); ``AIWEBCAM_LLM_MODEL=smollm2-135m`` picks the
small model for a quick check.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import time
import traceback
from importlib import resources
from pathlib import Path
from typing import Callable, TextIO

from desktop_app.core.ports import SAMPLE_RATE
from desktop_app.spoken_check import (
    MAX_WORD_ERROR,
    QUESTION_TEXT,
    SPOKEN_CHECK,
    QuestionMissing,
    find_question,
    is_frozen,
    offline_settings,
    word_error_rate,
)



class StepFailed(Exception):
    pass


class Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.results: list[tuple[str, bool]] = []
        self.started = time.perf_counter()

    def line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def record(self, name: str, ok: bool, seconds: float, detail: str) -> None:
        self.results.append((name, ok))
        self.line(f"[{'PASS' if ok else 'FAIL'}] {seconds:7.2f} s  {name}: {detail}")

    def run(self, name: str, fn: Callable[[], str]) -> bool:
        t0 = time.perf_counter()
        try:
            detail = fn()
            ok = True
        except (StepFailed, QuestionMissing) as exc:
            detail, ok = str(exc), False
        except Exception as exc:  # a self-test reports every failure, never crashes
            detail, ok = f"{type(exc).__name__}: {' '.join(str(exc).split())}", False
            if os.environ.get("AIWEBCAM_SELF_TEST_DEBUG"):
                traceback.print_exc()
        self.record(name, ok, time.perf_counter() - t0, detail)
        return ok

    async def arun(self, name: str, fn) -> bool:
        t0 = time.perf_counter()
        try:
            detail = await fn()
            ok = True
        except (StepFailed, QuestionMissing) as exc:
            detail, ok = str(exc), False
        except Exception as exc:
            detail, ok = f"{type(exc).__name__}: {' '.join(str(exc).split())}", False
            if os.environ.get("AIWEBCAM_SELF_TEST_DEBUG"):
                traceback.print_exc()
        self.record(name, ok, time.perf_counter() - t0, detail)
        return ok

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(ok for _, ok in self.results)


# ---- steps --------------------------------------------------------------------------


def check_models(settings) -> str:
    from desktop_app.bundled_models import QWEN_GGUF, bundled_file, bundled_llm, package_dir, part_paths, piper_voice, whisper_model_dir

    found = []
    whisper = Path(whisper_model_dir("tiny.en", Path(tempfile.gettempdir())) or "")
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        if not (whisper / name).is_file():
            raise StepFailed(f"Whisper tiny.en incomplete: {whisper / name} missing")
    found.append("whisper tiny.en")
    vad = package_dir("faster_whisper") / "assets" / "silero_vad_v6.onnx"
    if not vad.is_file():
        raise StepFailed(f"Silero VAD missing: {vad}")
    found.append("silero VAD")
    model, config = piper_voice(settings.resolved_tts_voice())
    if not (model.is_file() and config.is_file()):
        raise StepFailed(f"Piper voice missing: {model}")
    found.append(f"piper {settings.resolved_tts_voice()}")
    espeak = package_dir("piper") / "espeak-ng-data"
    for name in ("phontab", "phondata", "phonindex", "intonations", "en_dict"):
        if not (espeak / name).is_file():
            raise StepFailed(f"Piper's espeak-ng data incomplete: {espeak / name} missing")
    found.append("espeak-ng en")
    llm = bundled_llm(settings.resolved_llm_model())
    if llm == "qwen2.5-coder-1.5b" and bundled_file(QWEN_GGUF):
        found.append(f"qwen2.5-coder-1.5b ({bundled_file(QWEN_GGUF).stat().st_size / 2**20:.0f} MiB, in the bundle)")
    elif llm == "qwen2.5-coder-1.5b":
        parts = part_paths(QWEN_GGUF)  # raises when a piece is missing
        size = sum(p.stat().st_size for p in parts)
        if size != QWEN_GGUF.size:
            raise StepFailed(f"Qwen pieces add up to {size} bytes, expected {QWEN_GGUF.size}")
        found.append(f"qwen2.5-coder-1.5b ({len(parts)} parts, {size / 2**20:.0f} MiB)")
    else:
        from desktop_app.bundled_models import gguf_path

        found.append(f"{llm} ({gguf_path(llm, Path(tempfile.gettempdir())).name})")
    return ", ".join(found)


def check_qt() -> str:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # headless, whatever the session is
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QLibraryInfo
    from PySide6.QtWidgets import QApplication, QLabel

    platforms = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    present = sorted(p.name for p in platforms.iterdir()) if platforms.is_dir() else []
    wanted = {"linux": ["offscreen", "xcb"], "win32": ["qwindows", "offscreen"], "darwin": ["cocoa", "offscreen"]}
    for key in wanted.get(sys.platform, ["offscreen"]):
        if not any(key in name for name in present):
            raise StepFailed(f"Qt platform plugin {key!r} missing in {platforms} (found: {', '.join(present) or 'none'})")
    import PySide6.QtMultimedia  # noqa: F401  (camera and screen capture)

    app = QApplication.instance() or QApplication(["aiwebcam"])
    label = QLabel("AI Webcam self-test")
    label.resize(200, 40)
    image = label.grab().toImage()
    if image.isNull() or image.width() < 100:
        raise StepFailed("Qt could not render a widget offscreen")
    label.deleteLater()
    del app
    return f"PySide6 {pyside_version}, platform plugins: {', '.join(present)}; widget rendered offscreen"


def check_web() -> str:
    from desktop_app.server.app import WEB_FILES

    web = resources.files("desktop_app.server") / "web"
    sizes = {}
    for name in WEB_FILES:
        entry = web / name
        if not entry.is_file():
            raise StepFailed(f"browser client file missing: {name}")
        sizes[name] = len(entry.read_bytes())
    if "<script" not in (web / "index.html").read_text(encoding="utf-8"):
        raise StepFailed("index.html does not look like the client page")
    import desktop_app.server.peer  # noqa: F401  (aiortc, its codecs and SRTP load)

    return f"{len(sizes)} files ({sum(sizes.values()) / 1024:.0f} KiB); aiortc imports"


def check_native() -> str:
    """The compiled libraries a turn and the desktop app need load in this process."""
    import av
    import ctranslate2
    import llama_cpp
    import numpy as np
    import onnxruntime

    av.CodecContext.create("libopus", "w")
    av.CodecContext.create("opus", "r")
    llama_cpp.llama_print_system_info()  # libllama and libggml are loaded
    from desktop_app.media.echo_canceller import EchoCanceller

    EchoCanceller().process(np.zeros(480, dtype=np.float32))  # livekit's WebRTC APM (FFI library)
    import sounddevice  # noqa: F401  (PortAudio: a system library on Linux)

    return (
        f"av {av.__version__} (libopus), ctranslate2 {ctranslate2.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"llama.cpp {llama_cpp.__version__}, livekit APM, PortAudio"
    )


# ---- the command --------------------------------------------------------------------


def run_self_test(out: TextIO | None = None) -> int:
    out = out or sys.stdout
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # faster-whisper never asks the hub
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from desktop_app import __version__

    report = Report(out)
    where = f"frozen bundle at {Path(sys.executable).parent}" if is_frozen() else f"python {sys.executable}"
    report.line(f"aiwebcam {__version__} self-test ({where}; {platform.system()} {platform.machine()}, Python {platform.python_version()})")
    try:
        asyncio.run(_run(report))
    except KeyboardInterrupt:
        report.line("self-test: interrupted")
        return 130
    failed = [name for name, ok in report.results if not ok]
    total = time.perf_counter() - report.started
    if failed:
        report.line(f"self-test: FAIL ({len(failed)} of {len(report.results)} steps failed: {', '.join(failed)}; {total:.1f} s)")
        return 1
    report.line(f"self-test: PASS ({len(report.results)} steps, {total:.1f} s)")
    return 0


async def _run(report: Report) -> None:
    from desktop_app.config import AppPaths, load_settings

    from desktop_app.config import Settings
    from desktop_app.errors import AppError
    from desktop_app.key_store import load_api_key

    paths = AppPaths.from_env()
    try:
        settings = load_settings(paths, load_key=load_api_key)
    except AppError as exc:
        report.record("settings", False, 0.0, f"{exc} (checking with the defaults)")
        settings = Settings()
    settings = offline_settings(settings)

    models_ok = report.run("models found", lambda: check_models(settings))
    report.run("native libraries", check_native)
    report.run("Qt offscreen", check_qt)
    report.run("browser client", check_web)
    question: dict = {}

    def load_question() -> str:
        from desktop_app.media.audio_file import load_audio

        path = find_question()
        question["audio"] = load_audio(path)
        return f"{path.name}, {question['audio'].size / SAMPLE_RATE:.1f} s: {QUESTION_TEXT!r}"

    report.run("spoken question", load_question)
    if not models_ok:
        report.line("(model loading skipped: models missing)")
        return

    from desktop_app.backends.factory import make_backends
    from desktop_app.core.engine import Engine, default_store
    from desktop_app.progress import StderrProgress

    with tempfile.TemporaryDirectory(prefix="aiwebcam-self-test-") as tmp:
        backends = make_backends(settings, paths, StderrProgress())
        engine = Engine(backends, default_store(Path(tmp)), settings.system_prompt)
        try:
            loaded = [
                await report.arun("load Whisper", _load(backends.asr)),
                await report.arun("load LLM", _load(backends.llm)),
                await report.arun("load Piper", _load(backends.tts)),
                *([await report.arun("load the end-of-turn model (Smart Turn)", _load(backends.turn))] if backends.turn else []),
            ]
            if all(loaded) and "audio" in question:
                t0 = time.perf_counter()
                try:
                    await _turn(report, engine, question["audio"])
                except Exception as exc:
                    report.record("full turn", False, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}")
        finally:
            await engine.aclose()


def _load(backend):
    async def go() -> str:
        await backend.load()
        return backend.name

    return go


async def _turn(report: Report, engine, audio) -> None:
    from desktop_app.core.events import TurnError
    from desktop_app.core.sinks import CollectingSink
    from desktop_app.core.turn import TurnInput
    from desktop_app.media.opus import OPUS_RATE, decode_packets

    sink = CollectingSink()
    engine.add_sink(sink)
    errors: list[str] = []
    engine.subscribe(lambda event: errors.append(event.message) if isinstance(event, TurnError) else None)
    t0 = time.perf_counter()
    turn = await engine.run_turn(TurnInput(audio=audio))
    elapsed = time.perf_counter() - t0
    m = turn.metrics
    if errors:
        report.record("full turn", False, elapsed, errors[0])
        return
    report.record("full turn", True, elapsed, m.summary() or "done")

    wer = word_error_rate(QUESTION_TEXT, turn.user_text)
    report.record(
        "ASR transcript",
        wer <= MAX_WORD_ERROR,
        (m.asr_ms or 0) / 1000,
        f"{turn.user_text.strip()!r} (word error {wer:.0%}, limit {MAX_WORD_ERROR:.0%})",
    )
    reply = " ".join(turn.reply_text.split())
    report.record(
        "LLM replied",
        bool(reply),
        (m.llm_ms or 0) / 1000,
        f"{m.llm_tokens} tokens, first after {(m.llm_ttft_ms or 0):.0f} ms: {reply[:100]!r}" + ("..." if len(reply) > 100 else ""),
    )
    packets = sink.payloads()
    report.record(
        "TTS produced audio",
        sink.audio_ms > 0 and bool(packets),
        (m.tts_first_audio_ms or 0) / 1000,
        f"{len(packets)} Opus packets, {sink.audio_ms / 1000:.1f} s of speech",
    )

    def round_trip() -> str:
        pcm = decode_packets(packets)
        seconds = pcm.size / OPUS_RATE
        if not packets or abs(seconds * 1000 - sink.audio_ms) > 100:
            raise StepFailed(f"decoded {seconds:.2f} s, expected {sink.audio_ms / 1000:.2f} s")
        peak = float(abs(pcm).max()) if pcm.size else 0.0
        if peak < 0.01:
            raise StepFailed(f"decoded audio is silent (peak {peak:.4f})")
        return f"{seconds:.2f} s at {OPUS_RATE} Hz decoded, peak {peak:.2f}"

    report.run("Opus round trip", round_trip)

    async def speech_round_trip() -> str:
        # Piper (with the bundled espeak-ng data) -> Opus -> decode -> Whisper.
        import numpy as np

        from desktop_app.core.ports import SAMPLE_RATE
        from desktop_app.media.audio_file import resample
        from desktop_app.media.opus import OpusDecoder

        decoder = OpusDecoder()
        parts = [decoder.decode(p) async for p in _tts_packets(engine.backends.tts, SPOKEN_CHECK)]
        pcm48 = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        pad = np.zeros(8000, dtype=np.float32)  # half a second of silence around it, as a person leaves
        pcm16 = np.concatenate([pad, resample(pcm48, OPUS_RATE, SAMPLE_RATE), pad])
        heard = (await engine.backends.asr.transcribe(pcm16)).text
        wer = word_error_rate(SPOKEN_CHECK, heard)
        if wer > MAX_WORD_ERROR:
            raise StepFailed(f"Whisper heard {heard.strip()!r} for {SPOKEN_CHECK!r} (word error {wer:.0%})")
        return f"{SPOKEN_CHECK!r} spoken, heard back {heard.strip()!r} (word error {wer:.0%})"

    await report.arun("speech intelligible", speech_round_trip)


async def _tts_packets(tts, text: str):
    async for packet in tts.synthesize(text):
        yield packet
