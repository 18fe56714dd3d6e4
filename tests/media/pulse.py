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
import subprocess
import time
from pathlib import Path
from typing import Iterator

TOOLS = ("pulseaudio", "pactl", "parecord", "paplay")
DEVICE = "pulse"  # the ALSA PCM of libasound2-plugins


def skip_reason() -> str | None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        return f"PulseAudio is not installed ({', '.join(missing)} missing; Debian: pulseaudio pulseaudio-utils)"
    if not glob.glob("/usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so") and not glob.glob("/usr/lib/alsa-lib/libasound_module_pcm_pulse.so"):
        return "the ALSA PulseAudio plugin is not installed (Debian: libasound2-plugins)"
    return None


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
