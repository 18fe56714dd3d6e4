"""A private PulseAudio daemon with null-sink devices, for tests on real sound devices.

Its own runtime dir and home, a unix socket in tmp: nothing of the machine's own audio
is touched. Two null sinks: "speaker" (what the app plays into; record its .monitor)
and "micsink" (play into it with paplay), whose monitor is remapped into the capture
device "mic". ``echo_volume`` adds a loopback from the speaker into the microphone: the
room echo of a laptop's speakers, attenuated and delayed by ``echo_latency_ms``.

Clients reach it with the returned environment (``PULSE_SERVER``); sounddevice finds it
through the ALSA "pulse" device (libasound2-plugins), in a process started with that
environment (PortAudio enumerates devices once, at start).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import numpy as np

TOOLS = ("pulseaudio", "pactl", "parecord", "paplay")
DEVICE = "pulse"  # the ALSA PCM of libasound2-plugins
LOUD = 0.01  # RMS of a window that counts as the app talking


def skip_reason() -> str | None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"PulseAudio is not installed ({', '.join(missing)} missing; Debian: pulseaudio pulseaudio-utils)"
    if not glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so") and not glob.glob("/usr/lib/alsa-lib/libasound_module_pcm_pulse.so"):
        return "the ALSA PulseAudio plugin is not installed (Debian: libasound2-plugins)"
    return None


def window_skip_reason() -> str | None:
    """Why the real window cannot be driven on PulseAudio devices here (None: it can)."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/setup.sh --test installs it)"
    return skip_reason()


class PulseStartError(RuntimeError):
    pass


@contextlib.contextmanager
def private_pulse(tmp_path: Path, echo_volume: float = 0.0, echo_latency_ms: int = 40) -> Iterator[dict[str, str]]:
    """Start the daemon; yield the client environment; stop it."""
    runtime = tmp_path / "pulse-run"
    home = tmp_path / "pulse-home"
    runtime.mkdir(mode=0o700)
    home.mkdir()
    socket_path = runtime / "native"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "HOME": str(home), "PULSE_SERVER": f"unix:{socket_path}"}
    env.pop("PULSE_COOKIE", None)
    log_path = tmp_path / "pulseaudio.log"
    log = open(log_path, "wb")
    modules = [
        "-L", f"module-native-protocol-unix socket={socket_path} auth-anonymous=1",
        "-L", "module-cli-protocol-unix",  # the CLI socket: kill a stream (unplug())
        "-L", "module-null-sink sink_name=speaker rate=48000 channels=1",
        "-L", "module-null-sink sink_name=micsink rate=48000 channels=1",
        "-L", "module-remap-source source_name=mic master=micsink.monitor",
    ]  # fmt: skip
    if echo_volume > 0:
        modules += ["-L", f"module-loopback source=speaker.monitor sink=micsink latency_msec={echo_latency_ms} source_dont_move=true sink_dont_move=true"]
    daemon = subprocess.Popen(
        [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=false",
            "--system=false", "--disable-shm=true", "--log-target=stderr", *modules,
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise PulseStartError(f"pulseaudio did not start: {log_path.read_text(errors='replace')[-1500:]}")
            time.sleep(0.2)
        for command in (["pactl", "set-default-sink", "speaker"], ["pactl", "set-default-source", "mic"]):
            subprocess.run(command, env=env, check=True, capture_output=True)
        if echo_volume > 0:
            _set_loopback_volume(env, echo_volume)
        yield env
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=15)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()


def _set_loopback_volume(env: dict[str, str], volume: float) -> None:
    """The loopback's sink input is the only one at start: set its gain (linear)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listing = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=env, capture_output=True, text=True).stdout
        ids = [line.split()[0] for line in listing.splitlines() if line.strip()]
        if ids:
            # pactl's percentages are cubic; a linear gain g is (g ** (1/3)) * 100 %
            percent = f"{round(volume ** (1 / 3) * 100)}%"
            subprocess.run(["pactl", "set-sink-input-volume", ids[0], percent], env=env, check=True, capture_output=True)
            return
        time.sleep(0.1)
    raise PulseStartError("the speaker -> microphone loopback did not appear")


SPEAKER_MODULE = ("module-null-sink", "sink_name=speaker rate=48000 channels=1")
MIC_MODULE = ("module-remap-source", "source_name=mic master=micsink.monitor")


def _pactl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, check=True).stdout


def unplug(env: dict[str, str], module: tuple[str, str]) -> list[str]:
    """The device of ``module`` (SPEAKER_MODULE, MIC_MODULE) goes away, as when unplugged.

    Unloading the module alone is not enough: PulseAudio moves the streams on it to the
    device left (the mic sink, the speaker's monitor), as a laptop falls back to its
    built-in speaker. So the streams it moved are then killed (``pacmd``), which is what
    PulseAudio does when nothing is left. Returns the killed streams' lines.
    """
    name, args = module
    speaker = name == "module-null-sink"
    kind = "sink-inputs" if speaker else "source-outputs"
    devices = _pactl(env, "list", "short", "sinks" if speaker else "sources").splitlines()
    index = next(line.split()[0] for line in devices if line.split()[1] == ("speaker" if speaker else "mic"))
    on_it = {line.split()[0] for line in _pactl(env, "list", "short", kind).splitlines() if line.split()[1] == index}
    for line in _pactl(env, "list", "short", "modules").splitlines():
        fields = line.split("\t")
        if fields[1] == name and fields[2].strip() == args:
            _pactl(env, "unload-module", fields[0])
            break
    else:
        raise RuntimeError(f"{name} {args} is not loaded")
    killed = []
    for line in _pactl(env, "list", "short", kind).splitlines():
        if line.split()[0] in on_it:
            _pulse_cli(env, f"kill-{kind[:-1]} {line.split()[0]}")
            killed.append(line)
    return killed


def _pulse_cli(env: dict[str, str], command: str) -> str:
    """One command on the daemon's CLI socket (what pacmd does; pacmd wants a pid file)."""
    with socket.socket(socket.AF_UNIX) as cli:
        cli.settimeout(5)
        cli.connect(str(Path(env["XDG_RUNTIME_DIR"]) / "pulse" / "cli"))
        cli.sendall(command.encode() + b"\n")  # not "exit": that ends the daemon
        cli.shutdown(socket.SHUT_WR)
        reply = b""
        with contextlib.suppress(OSError):
            while chunk := cli.recv(4096):
                reply += chunk
    return reply.decode(errors="replace")


def plug(env: dict[str, str], module: tuple[str, str]) -> None:
    """The device comes back (the module loaded again, the default again)."""
    name, args = module
    _pactl(env, "load-module", name, *args.split())
    speaker = name == "module-null-sink"
    _pactl(env, "set-default-sink" if speaker else "set-default-source", "speaker" if speaker else "mic")


class SpeakerMonitor:
    """Records the speaker's monitor continuously (16 kHz mono), readable while it runs."""

    def __init__(self, env: dict[str, str]) -> None:
        self._proc = subprocess.Popen(
            ["parecord", "--raw", "--format=s16le", "--rate=16000", "--channels=1", "--latency-msec=20", "--device=speaker.monitor"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._chunks: list[np.ndarray] = []
        self._size = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        while True:
            # whatever has arrived (up to 100 ms): ``samples`` then lags the device by the
            # recorder's own 20 ms, not by up to a whole 100 ms read as well
            data = self._proc.stdout.read1(3200)
            if len(data) % 2:
                data += self._proc.stdout.read(1)
            if not data:
                return
            with self._lock:
                self._chunks.append(np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768.0)
                self._size += len(data) // 2

    def audio(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._chunks) if self._chunks else np.zeros(0, dtype=np.float32)

    @property
    def samples(self) -> int:
        """Samples received so far (16 kHz): the recording's position now."""
        with self._lock:
            return self._size

    def windows(self, ms: int = 100) -> np.ndarray:
        """RMS of each ``ms`` window so far."""
        size = 16 * ms
        pcm = self.audio()
        whole = pcm.size // size * size
        return np.sqrt(np.mean(np.square(pcm[:whole].reshape(-1, size)), axis=1)) if whole else np.zeros(0)

    def first_loud_after(self, sample: int, ms: int = 10) -> int | None:
        """Start (sample) of the first ``ms`` window at or after ``sample`` louder than LOUD."""
        windows = self.windows(ms)
        first = sample // (16 * ms)
        loud = np.flatnonzero(windows[first:] > LOUD)
        return (first + int(loud[0])) * 16 * ms if loud.size else None

    def loud_s(self, since_window: int = 0) -> float:
        return float(np.sum(self.windows()[since_window:] > LOUD)) * 0.1

    def quiet_for_s(self) -> float:
        """How long the speaker has been silent, up to now."""
        loud = np.flatnonzero(self.windows() > LOUD)
        total = self.windows().size
        return (total - 1 - loud[-1]) * 0.1 if loud.size else total * 0.1

    def quiet_since_s(self, sample: int) -> float:
        """How long the speaker has been silent after a sound that began at ``sample``
        (``first_loud_after``), counting only whole 100 ms windows that have arrived.

        Not :meth:`quiet_for_s`: right after a reply's first loud 10 ms, the 100 ms
        window that holds it is not whole yet, so that counted the silence since the
        reply before, and a benchmark played its next question over the reply's start."""
        windows = self.windows()
        start = sample // 1600
        loud = np.flatnonzero(windows[start:] > LOUD)
        last = start + int(loud[-1]) if loud.size else start
        return max(0, windows.size - 1 - last) * 0.1

    def stop(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        self._thread.join(timeout=5)
