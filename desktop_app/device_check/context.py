"""What every check gets: the devices to use, how long to listen, and where to report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from desktop_app.config import AppPaths, Settings


def _ignore(*_args: Any) -> None:
    return None


@dataclass
class CheckContext:
    """``input_device``/``output_device``: device names as in the settings ("" = system default).

    ``on_level`` gets the microphone level (dBFS) of each block while a check records,
    from the audio thread; ``on_progress`` one line of what is happening now ("speak
    now..."). ``backends``: already loaded embedded models to reuse for the turn check
    (the window's), None to load them.
    """

    settings: Settings
    paths: AppPaths
    input_device: str = ""
    output_device: str = ""
    seconds: float = 3.0
    video: str = "auto"  # "auto" (a camera if any, else a screen), "camera" or "screen"
    screens: bool = True  # False: no display (Qt offscreen), no screen worth capturing
    on_level: Callable[[float], None] = field(default=_ignore)
    on_progress: Callable[[str], None] = field(default=_ignore)
    backends: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, paths: AppPaths, **kwargs: Any) -> "CheckContext":
        kwargs.setdefault("input_device", settings.audio_input_device)
        kwargs.setdefault("output_device", settings.audio_output_device)
        return cls(settings, paths, **kwargs)

    def progress_from_thread(self, text: str) -> Callable[[], None]:
        """A callable for a worker thread that reports ``text`` on the running loop's thread."""
        import asyncio

        loop = asyncio.get_running_loop()
        return lambda: loop.call_soon_threadsafe(self.on_progress, text)

    @property
    def input_label(self) -> str:
        return f"'{self.input_device}'" if self.input_device else "the default microphone"

    @property
    def output_label(self) -> str:
        return f"'{self.output_device}'" if self.output_device else "the default speaker"
