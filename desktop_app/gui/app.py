"""``aiwebcam``: the window on a qasync loop; ``--screenshot FILE`` writes a PNG of it.

``--conversation ID`` opens the window on a saved conversation (shown at once, continued
once the models are ready).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from desktop_app.config import AppPaths, Settings
from desktop_app.core.conversation import Conversation
from desktop_app.errors import ConfigError
from desktop_app.gui.display import display_problem


def load_saved_conversation(paths: AppPaths, conversation_id: str) -> Conversation:
    from desktop_app.core.engine import default_store

    try:
        return default_store(paths.data_dir).load(conversation_id)
    except (OSError, ValueError, KeyError, TypeError):
        raise ConfigError(f"no saved conversation {conversation_id!r}: 'aiwebcam history' lists them") from None


SOURCES = ("camera", "screen", "pattern", "off")


def parse_source(text: str | None) -> tuple[str, tuple[int, int, int, int] | None]:
    """``--source``: a kind, or ``region:X,Y,WIDTH,HEIGHT``. ("auto", None) when not given."""
    if not text:
        return "auto", None
    if text in SOURCES:
        return text, None
    if text.startswith("region:"):
        try:
            x, y, w, h = (int(v) for v in text.split(":", 1)[1].split(","))
        except ValueError:
            raise ConfigError("--source region:X,Y,WIDTH,HEIGHT takes four whole numbers, e.g. region:0,0,800,600") from None
        if w < 24 or h < 24:
            raise ConfigError("--source region: the region must be at least 24x24 pixels")
        return "region", (x, y, w, h)
    raise ConfigError(f"--source {text!r}: use camera, screen, pattern, off or region:X,Y,WIDTH,HEIGHT")


def run_app(
    settings: Settings,
    paths: AppPaths,
    screenshot: Path | None = None,
    conversation_id: str | None = None,
    source: str | None = None,
) -> int:
    video, region = parse_source(source)
    conversation = load_saved_conversation(paths, conversation_id) if conversation_id else None
    problem = display_problem()
    if problem is not None:
        if screenshot is None:
            print(problem, file=sys.stderr)
            return 1
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.main_window import MainWindow
    from desktop_app.gui.style import apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AI Webcam")
    app.setDesktopFileName("aiwebcam")
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    # a screenshot shows the default layout and leaves the user's remembered one alone
    window = MainWindow(settings, paths, video="pattern" if region else video, remember_layout=screenshot is None)
    if region is not None:
        window.select_region(*region)
    if conversation is not None:
        window.show_conversation(conversation)
        window.session.ready.connect(lambda: window.open_conversation(conversation.id))
    window.show()
    with loop:
        if screenshot is not None:
            return loop.run_until_complete(_screenshot(window, screenshot))
        return loop.run_until_complete(_run(app, window))


async def _run(app, window) -> int:
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    ready_file = os.environ.get("AIWEBCAM_READY_FILE")  # for `aiwebcam bench` (idle CPU)
    if ready_file:
        window.session.ready.connect(lambda: Path(ready_file).write_text("ready\n"))
    window.session.start()
    await closed.wait()
    await window.aclose()
    return 0


async def _screenshot(window, path: Path) -> int:
    """Wait until the window is shown, laid out and has a video frame; save it; exit."""
    for _ in range(100):  # up to ~5 s; usually a few ticks
        await asyncio.sleep(0.05)
        source = window.video_source
        if window.isVisible() and window.video.width() > 0 and (source is None or source.frames > 0):
            break
    await asyncio.sleep(0.2)  # let coalesced renders of the panes land
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(path), "PNG")
    window.close()
    await window.aclose()
    if not ok:
        print(f"aiwebcam: error: cannot write {path}", file=sys.stderr)
        return 1
    print(path)
    return 0
