"""The sound devices sounddevice (PortAudio) can see, by name, for the device pickers.

Copes with none: no PortAudio library, no sound card, or a query that fails all give an
empty list (the app then works with typed input and on-screen text).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioDevice:
    name: str
    inputs: int
    outputs: int
    host_api: str = ""


def audio_devices() -> list[AudioDevice]:
    try:
        import sounddevice as sd
    except OSError:  # PortAudio is not installed
        return []
    try:
        found = sd.query_devices()
        apis = [api.get("name", "") for api in sd.query_hostapis()]
    except Exception:  # PortAudioError and friends
        return []
    out = []
    for info in found:
        api_index = info.get("hostapi", -1)
        out.append(
            AudioDevice(
                name=str(info.get("name", "")),
                inputs=int(info.get("max_input_channels", 0)),
                outputs=int(info.get("max_output_channels", 0)),
                host_api=apis[api_index] if 0 <= api_index < len(apis) else "",
            )
        )
    return out


def input_names() -> list[str]:
    return _unique(d.name for d in audio_devices() if d.inputs > 0)


def output_names() -> list[str]:
    return _unique(d.name for d in audio_devices() if d.outputs > 0)


def _unique(names) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)


def device_arg(name: str) -> str | None:
    """What sounddevice takes for a stored device name ("" = the system default)."""
    return name or None
