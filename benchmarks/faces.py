"""Voice-to-voice latency of every face, measured where the user hears it, in one run.

    .venv/bin/python benchmarks/faces.py --turns 16                  # all faces, default models
    .venv/bin/python benchmarks/faces.py --turns 16 --faces window-ptt,window-hf --json out.json

Faces:

* ``engine``: ``aiwebcam bench`` (the engine alone, fed at real-time pace; the sink's
  first packet), and its sequential baseline. The key comes up 0.3 s after the last
  word, as a user lets go of it;
* ``engine-last-word``: the same with the key released at the last word
  (``aiwebcam bench --release-after 0``): the engine measured from the moment
  hands-free is, with nothing done ahead of the release. A reference for ``window-hf``:
  hands-free starts the same chain (one pass, the prompt's last words, the first
  chunk, Piper) at about the same moment, and also hears the pause and runs in the
  window; this face is timed at an in-process sink, the window at the speaker;
* ``window-ptt``: the real app (``aiwebcam``) in a real window under Xvfb, on PulseAudio
  null devices. Space goes down (``xdotool keydown``), the question plays into the
  microphone (``paplay``), Space comes up when it has played; the speaker device's
  monitor is recorded, and the figure is keyup -> the first loud 10 ms of the reply.
  Each press comes right after the previous reply has finished playing, so a lost press
  (no turn) is counted too;
* ``window-hf``: the same app with hands-free on, no key: the end of the question's last
  word (``paplay`` done, minus the clip's silent tail) -> the first loud 10 ms;
* ``browser``: ``tests/server/e2e_driver.py --latency-runs N`` (Debian Chromium, fake
  microphone, WebRTC on loopback inside ``unshare -n``): release of Space -> the first
  reply audio the page plays (its getStats).

Loose ends of the method, stated: PulseAudio null sinks run in loose real time, and the
recording has ~20 ms of latency of its own (parecord); the keyup is sent when ``paplay``
returns, which is when the clip has drained into the null sink.
Prints a table; ``--json FILE`` writes every figure. Needs the test packages
(``make test`` installs them: xvfb, xdotool, pulseaudio, chromium).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from desktop_app.bench.questions import QUESTIONS, TRAILING_SILENCE_S, question_clips, question_wav  # noqa: E402
from desktop_app.bench.stats import percentiles  # noqa: E402
from desktop_app.config import AppPaths  # noqa: E402
from tests.media.pulse import DEVICE, SpeakerMonitor, private_pulse  # noqa: E402

VENV_BIN = Path(sys.executable).parent
FACES = ("engine", "engine-last-word", "window-ptt", "window-hf", "browser")


def cpu_model() -> str:
    for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
        if line.startswith("Model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


# ---- engine ------------------------------------------------------------------------------


def bench_engine(turns: int, llm: str | None, release_after_s: float | None = None) -> dict:
    cmd = [str(VENV_BIN / "aiwebcam"), "bench", "--turns", str(turns), "--json", "--no-idle"]
    if release_after_s is not None:
        cmd += ["--release-after", str(release_after_s)]
    if llm:
        cmd += ["--llm", llm]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"aiwebcam bench failed: {out.stderr[-1500:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- the window --------------------------------------------------------------------------


def _xvfb(stack: ExitStack, size: str = "1280x800x24") -> str:
    for number in range(90, 140):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            break
    else:
        raise RuntimeError("no free X display")
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", size, "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    stack.callback(lambda: (proc.terminate(), proc.wait(timeout=10)))
    deadline = time.monotonic() + 30
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("Xvfb did not start")
        time.sleep(0.1)
    return f":{number}"


def stop_app(app: subprocess.Popen) -> None:
    """SIGTERM (the app saves and closes), then SIGKILL after 30 s."""
    app.send_signal(signal.SIGTERM)
    try:
        app.wait(timeout=30)
    except subprocess.TimeoutExpired:
        app.kill()


def _turn_count(data_dir: Path) -> int:
    files = sorted((data_dir / "conversations").glob("*.json"))
    try:
        return len(json.loads(files[-1].read_text())["turns"]) if files else 0
    except (ValueError, KeyError):
        return 0


def _last_turn(data_dir: Path) -> dict:
    files = sorted((data_dir / "conversations").glob("*.json"))
    try:
        return json.loads(files[-1].read_text())["turns"][-1]
    except (ValueError, KeyError, IndexError):
        return {}


def _press_outcomes(log_path: Path) -> list[str]:
    """'submitted' or 'dropped (why)' for each push-to-talk press so far, from the app's log."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [m.group(1) for m in re.finditer(r"capture: press (submitted|dropped \([^)]*\))", text)]


def _wait(condition, timeout_s: float, what: str, app: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if app.poll() is not None:
            raise RuntimeError(f"the app exited ({app.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def app_env(pulse_env: dict[str, str], display: str, config_dir: Path, data_dir: Path, ready: Path,
            extra_env: dict[str, str]) -> dict[str, str]:  # fmt: skip
    """The environment of the real app on ``display`` and the PulseAudio devices; it writes
    ``ready`` once its models are loaded."""
    env = {k: v for k, v in pulse_env.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update({
        "DISPLAY": display,
        "AIWEBCAM_DATA_DIR": str(data_dir),
        "AIWEBCAM_CONFIG_DIR": str(config_dir),
        "AIWEBCAM_READY_FILE": str(ready),
        "AIWEBCAM_AUDIO_INPUT_DEVICE": DEVICE,
        "AIWEBCAM_AUDIO_OUTPUT_DEVICE": DEVICE,
        **extra_env,
    })  # fmt: skip
    return env


def launch_app(stack: ExitStack, env: dict[str, str], log_path: Path, args: tuple[str, ...] = (),
               prefix: tuple[str, ...] = ()) -> subprocess.Popen:  # fmt: skip
    """``aiwebcam -v ARGS`` logging to ``log_path``; stopped (SIGTERM, then SIGKILL) with ``stack``."""
    log = open(log_path, "wb")
    stack.callback(log.close)
    app = subprocess.Popen([*prefix, str(VENV_BIN / "aiwebcam"), *args, "-v"], env=env, stdout=log, stderr=subprocess.STDOUT)
    stack.callback(stop_app, app)
    return app


def start_window(stack: ExitStack, display: str, pulse_env: dict[str, str], work: Path, data_dir: Path, ready: Path,
                 log_path: Path, hands_free: bool, extra_env: dict[str, str], llm: str | None) -> tuple[dict[str, str], subprocess.Popen]:
    """The real app (``aiwebcam -v``) in a window on ``display``, on the PulseAudio devices,
    ready (models loaded) and focused (push-to-talk keys reach it). Returns (env, process)."""
    extra = {"AIWEBCAM_HANDS_FREE": "true" if hands_free else "false", **extra_env}
    if llm:
        extra.update({"AIWEBCAM_LLM_PROVIDER": "embedded", "AIWEBCAM_LLM_MODEL": llm})
    env = app_env(pulse_env, display, work / "config", data_dir, ready, extra)
    app = launch_app(stack, env, log_path)
    if not _wait(ready.exists, 600, "the models", app):
        raise RuntimeError("the app did not get ready")
    if not hands_free:
        found = subprocess.run(["xdotool", "search", "--sync", "--name", "AI Webcam"], env=env, capture_output=True, text=True)
        subprocess.run(["xdotool", "windowfocus", "--sync", found.stdout.split()[0]], env=env, check=True)
    time.sleep(2.0)
    return env, app


def bench_window(turns: int, llm: str | None, hands_free: bool, work: Path, idle_s: float = 10.0,
                 settings_env: dict[str, str] | None = None) -> dict:  # fmt: skip
    paths = AppPaths.from_env()
    clips = question_clips(paths.cache_dir)  # cached WAVs in the cache dir
    files = [question_wav(paths.cache_dir, q) for q, _ in clips]
    data_dir = work / ("data-hf" if hands_free else "data-ptt")
    ready = work / ("ready-hf" if hands_free else "ready-ptt")
    log_path = work / ("app-hf.log" if hands_free else "app-ptt.log")
    samples: list[float] = []
    app_figures: list[dict] = []
    heard: list[tuple[str, str]] = []  # (question, what the app stored as the user's words)
    lost = 0
    with ExitStack() as stack:
        display = _xvfb(stack)
        pulse_dir = work / ("pulse-hf" if hands_free else "pulse-ptt")
        pulse_dir.mkdir(parents=True, exist_ok=True)
        pulse_env = stack.enter_context(private_pulse(pulse_dir))
        speaker = SpeakerMonitor(pulse_env)
        stack.callback(speaker.stop)
        env, app = start_window(stack, display, pulse_env, work, data_dir, ready, log_path, hands_free,
                                {"AIWEBCAM_LLM_MAX_TOKENS": "40", **(settings_env or {})}, llm)  # short replies: the first audio is measured  # fmt: skip
        xdo = ["xdotool"]
        idle = None
        if not hands_free and idle_s:  # the window idle with its microphone armed (open, pre-roll only)
            from desktop_app.bench.idle import idle_cpu_percent

            idle = round(idle_cpu_percent(app.pid, idle_s), 2)
            print(f"idle CPU with the microphone armed: {idle} %", file=sys.stderr)
        for i in range(turns):
            wav = files[i % len(files)]
            before = _turn_count(data_dir)
            # right after the previous reply: as soon as the speaker has been quiet 300 ms.
            # Hands-free waits 1 s: a reply can pause 300 ms between its chunks on a busy
            # machine, and a question played into that pause talks over the reply (a
            # barge-in, not the turn this face measures; with no echo to cancel, the
            # canceller garbled it, and once no turn came at all).
            quiet_s = 1.0 if hands_free else 0.3
            _wait(lambda: speaker.quiet_for_s() >= quiet_s, 300, "the previous reply to end", app)
            if not hands_free:
                subprocess.run([*xdo, "keydown", "space"], env=env, check=True)
            subprocess.run(["paplay", "--device=micsink", str(wav)], env=pulse_env, check=True, timeout=60)
            if hands_free:
                end_of_speech = speaker.samples - int(16000 * TRAILING_SILENCE_S)
            else:
                subprocess.run([*xdo, "keyup", "space"], env=env, check=True)
                end_of_speech = speaker.samples
            if not hands_free:  # the app says what became of the press (its -v log)
                presses = _press_outcomes(log_path)
                _wait(lambda: len(_press_outcomes(log_path)) > len(presses), 60, "the press's outcome", app)
                outcome = _press_outcomes(log_path)[len(presses):]
                if not outcome or outcome[0] != "submitted":
                    lost += 1
                    print(f"[{i + 1}/{turns}] lost: {outcome[0] if outcome else 'no turn'}", file=sys.stderr)
                    continue
            got_turn = _wait(lambda: _turn_count(data_dir) > before, 600, "the turn", app)  # (a busy machine is slow, not lossy)
            if not got_turn:
                lost += 1
                print(f"[{i + 1}/{turns}] lost: no turn", file=sys.stderr)
                continue
            _wait(lambda: speaker.first_loud_after(end_of_speech) is not None, 300, "the reply's sound", app)
            first = speaker.first_loud_after(end_of_speech)
            if first is None:
                continue
            ms = (first - end_of_speech) / 16.0
            samples.append(ms)
            stored = _last_turn(data_dir)
            metrics = stored.get("metrics", {})
            app_figures.append(metrics)
            heard.append((QUESTIONS[i % len(QUESTIONS)], stored.get("user_text", "")))
            print(f"[{i + 1}/{turns}] {'hands-free' if hands_free else 'push-to-talk'}: {ms:.0f} ms "
                  f"(app: asr {metrics.get('asr_ms')}, ttft {metrics.get('llm_ttft_ms')}, "
                  f"first chunk {metrics.get('first_chunk_ms')}, v2v {metrics.get('v2v_ms')}, "
                  f"reply begun {metrics.get('reply_prepared_ms')} ms early)", file=sys.stderr)  # fmt: skip
            _wait(lambda: speaker.quiet_since_s(first) >= quiet_s, 300, "the reply to end", app)
    result = {"heard_ms": percentiles(samples), "turns": len(samples), "lost_presses": lost, "samples_ms": [round(s) for s in samples]}
    result["heard"] = heard
    if idle is not None:
        result["idle_cpu_percent_armed"] = idle
    cpu_lines = re.findall(r"CPU from start to first audio: (.*)", log_path.read_text(errors="replace"))
    result["cpu_to_first_audio"] = cpu_lines[-turns:]
    for key in ("asr_ms", "llm_ttft_ms", "first_chunk_ms", "tts_first_audio_ms", "v2v_ms"):
        result[key] = percentiles([m.get(key) for m in app_figures])
    result["reply_begun_at_pause"] = sum(m.get("reply_prepared_ms") is not None for m in app_figures)
    return result


# ---- the browser -------------------------------------------------------------------------


def bench_browser(turns: int, llm: str | None, work: Path) -> dict:
    out = work / "browser.json"
    driver = f"{sys.executable} tests/server/e2e_driver.py --out {out} --shots {work / 'shots'} --latency-runs {turns}"
    if llm:
        driver += f" --llm-model {llm}"
    else:
        driver += " --llm-model qwen2.5-coder-1.5b"
    proc = subprocess.run(["unshare", "-n", "sh", "-c", f"ip link set lo up && exec {driver}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)  # fmt: skip
    if not out.exists():
        raise RuntimeError(f"the browser driver failed: {proc.stderr[-1500:]}")
    runs = json.loads(out.read_text()).get("latency", [])
    heard = [r.get("release_to_first_audio_ms") for r in runs]
    result = {"heard_ms": percentiles(heard), "turns": sum(h is not None for h in heard), "runs": runs}
    for key in ("release_to_arrival_ms", "arrival_to_playout_ms", "jitter_buffer_ms"):  # where the page's wait goes
        result[key] = percentiles([r.get(key) for r in runs])
    labels = {"asr_ms": "ASR", "llm_ttft_ms": "first token", "first_chunk_ms": "first chunk",
              "tts_first_audio_ms": "TTS", "v2v_ms": "voice-to-voice"}  # the page's metrics line
    for key, label in labels.items():
        values = [re.search(rf"{label} (\d+) ms", r.get("metrics_line") or "") for r in runs]
        result[key] = percentiles([float(m.group(1)) if m else None for m in values])
    result["reply_begun_at_pause"] = sum("reply begun at the pause" in (r.get("metrics_line") or "") for r in runs)
    return result


# ---- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=16)
    parser.add_argument("--faces", default=",".join(FACES), help=f"comma-separated, of {', '.join(FACES)}")
    parser.add_argument("--llm", default=None, help="embedded LLM (default: the app's default)")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the app logs and data in this folder")
    parser.add_argument("--window-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the window faces (repeatable), e.g. read_text_in_view=false")  # fmt: skip
    args = parser.parse_args()
    window_env = {}
    for item in args.window_setting:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--window-setting {item!r}: NAME=VALUE")
        window_env[f"AIWEBCAM_{name.strip().upper()}"] = value.strip()
    faces = [f.strip() for f in args.faces.split(",") if f.strip()]
    unknown = set(faces) - set(FACES)
    if unknown:
        parser.error(f"unknown faces: {', '.join(sorted(unknown))}")
    for tool in ("Xvfb", "xdotool", "pulseaudio", "paplay", "parecord", "unshare"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is missing: `make test` installs the test packages")
    report: dict = {"cpu": cpu_model(), "date": time.strftime("%Y-%m-%d %H:%M"), "turns": args.turns,
                    "llm": args.llm or "default", "questions": len(QUESTIONS), "window_settings": args.window_setting}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aiwebcam-faces-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep
        work.mkdir(parents=True, exist_ok=True)
        for face in faces:
            print(f"== {face}", file=sys.stderr)
            try:
                if face == "engine":
                    report[face] = bench_engine(args.turns, args.llm)
                elif face == "engine-last-word":
                    report[face] = bench_engine(args.turns, args.llm, release_after_s=0.0)
                elif face == "window-ptt":
                    report[face] = bench_window(args.turns, args.llm, hands_free=False, work=work, settings_env=window_env)
                elif face == "window-hf":
                    report[face] = bench_window(args.turns, args.llm, hands_free=True, work=work, settings_env=window_env)
                else:
                    report[face] = bench_browser(args.turns, args.llm, work)
            except Exception as exc:  # one face failing still reports the others
                report[face] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{face}: {report[face]['error']}", file=sys.stderr)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


def _print(report: dict) -> None:
    print(f"CPU: {report['cpu']}  ({report['date']}, {report['turns']} turns per face, LLM {report['llm']})")
    engine = report.get("engine", {})
    base = (engine.get("v2v_ms") or {}).get("p50")
    if base is not None:
        baseline = engine["baseline_v2v_ms"]["p50"]
        print(f"engine v2v p50 {base:.0f} / p90 {engine['v2v_ms']['p90']:.0f} ms; sequential baseline p50 {baseline:.0f} ms "
              f"(ratio {base / baseline:.2f})")  # fmt: skip
    elif "error" in engine:
        print(f"engine: {engine['error']}")
    last_word = (report.get("engine-last-word", {}).get("v2v_ms") or {}).get("p50")
    if last_word is not None:
        lw = report["engine-last-word"]
        p50 = lambda key: _ms((lw.get(key) or {}).get("p50"))  # noqa: E731
        print(f"engine-last-word v2v p50 {last_word:.0f} / p90 {_ms(lw['v2v_ms'].get('p90'))} ms (released at the last word: "
              f"asr p50 {p50('asr_ms')} ms after the release; first token {p50('llm_ttft_ms')}, first chunk {p50('first_chunk_ms')} ms after the transcript)")  # fmt: skip
    elif "error" in report.get("engine-last-word", {}):
        print(f"engine-last-word: {report['engine-last-word']['error']}")
    for face in ("window-ptt", "window-hf", "browser"):
        r = report.get(face)
        if not r:
            continue
        if "error" in r:
            print(f"{face}: {r['error']}")
            continue
        heard = r["heard_ms"]
        extra = f", lost presses {r['lost_presses']}" if "lost_presses" in r else ""
        extra += f", reply begun at the pause in {r.get('reply_begun_at_pause', 0)}"
        deltas = [f"{name} {heard['p50'] - ref:+.0f}" for name, ref in (("engine", base), ("engine-last-word", last_word))
                  if ref is not None and heard["p50"] is not None]  # fmt: skip
        delta = f" ({'; '.join(deltas)})" if deltas else ""
        print(f"{face}: heard p50 {_ms(heard['p50'])}{delta} / p90 {_ms(heard['p90'])} ms over {r['turns']} turns{extra}; "
              f"app ttft p50 {_ms(r['llm_ttft_ms']['p50'])}, first chunk p50 {_ms(r['first_chunk_ms']['p50'])}")  # fmt: skip


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
