"""What one transcript render costs the window's main thread while a reply streams, by
conversation length.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/transcript_render.py``.
Each conversation has N finished turns with a frame thumbnail every other turn; the last
reply grows by two words per render, as the model writes (the window renders at most
every 50 ms). Prints p50/p90 ms per render over 40 renders.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from desktop_app.bench.stats import percentiles  # noqa: E402

REPLY = "The capital of France is **Paris**. It is known for the Eiffel Tower, the Louvre and its cafes. " * 3


def measure(turns: int, renders: int) -> dict:
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QApplication

    from desktop_app.gui.transcript_view import TranscriptEntry, TranscriptView

    app = QApplication.instance() or QApplication([])
    frame = QImage(1280, 720, QImage.Format.Format_RGB32)
    frame.fill(QColor(30, 60, 90))
    view = TranscriptView()
    view.resize(500, 700)
    view.show()
    view.entries = [
        TranscriptEntry(user_text="What is the capital of France?", reply_text=REPLY, image=frame if i % 2 else None, state="done", metrics="ASR 20 ms")
        for i in range(turns)
    ]  # fmt: skip
    view.entries[-1].state = "speaking"
    view.render_now()
    app.processEvents()
    samples = []
    for _ in range(renders):
        view.entries[-1].reply_text += " more words"
        started = time.perf_counter()
        view.render_now()
        app.processEvents()
        samples.append((time.perf_counter() - started) * 1000)
    view.close()
    return percentiles(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", default="1,16,50,100", help="conversation lengths, comma-separated")
    parser.add_argument("--renders", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = {int(n): measure(int(n), args.renders) for n in args.turns.split(",")}
    for turns, p in report.items():
        print(f"{turns:>4} turns: {p['p50']:.1f} ms p50, {p['p90']:.1f} ms p90 per render")
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
