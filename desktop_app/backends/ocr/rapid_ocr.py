"""RapidOCR (PP-OCRv4 on onnxruntime, Apache-2.0): the text in a frame, in-process, offline.

The three ONNX models (text detection, orientation, recognition; 16 MB) ship inside the
``rapidocr-onnxruntime`` wheel; nothing is fetched at run time. About 1 s for a
1024-px frame on one core of the 2-core reference machine. The reader runs in its own
thread at the lowest CPU priority, with one onnxruntime thread, so it takes only CPU
time that the conversation does not need.
"""

from __future__ import annotations

import io
import unicodedata

import numpy as np

from desktop_app.core.ports import TextReader
from desktop_app.core.threads import ModelThread
from desktop_app.errors import ModelNotFoundError

MAX_CHARS = 1200  # a screenful of text; more would slow the model's first word down
MIN_SCORE = 0.6  # recognition confidence below which a piece of text is left out
DETECTION_SHORT_SIDE = 480


class RapidTextReader(TextReader):
    name = "rapidocr PP-OCRv4"

    def __init__(self) -> None:
        self._engine = None
        self._thread = ModelThread("ocr", low_priority=True)

    async def load(self) -> None:
        if self._engine is None:
            self._engine = await self._thread.run(self._load_blocking)

    def _load_blocking(self):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError:
            raise ModelNotFoundError("the text reader (rapidocr-onnxruntime) is not installed: run the setup again") from None
        # det_limit_side_len: RapidOCR upscales frames whose short side is below it (736 by
        # default); at 480 a 1024x576 camera frame is read as it is: 0.84 s instead of
        # 1.09 s, and 26 of 26 words of the test screen instead of 19 (screens: the same)
        engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1, print_verbose=False, det_limit_side_len=DETECTION_SHORT_SIDE)
        engine(np.full((64, 256, 3), 255, dtype=np.uint8))  # warm-up
        return engine

    async def read(self, jpeg: bytes) -> str:
        await self.load()
        return await self._thread.run(self._read_blocking, jpeg)

    def _read_blocking(self, jpeg: bytes) -> str:
        from PIL import Image

        with Image.open(io.BytesIO(jpeg)) as img:
            pixels = np.asarray(img.convert("RGB"))
        result, _ = self._engine(pixels)
        return text_in_reading_order(result or [])

    async def aclose(self) -> None:
        self._thread.shutdown()


def text_in_reading_order(result: list) -> str:
    """RapidOCR's boxes as lines of text: top to bottom, pieces on one line left to right."""
    pieces = []
    for box, text, score in result:
        if float(score) < MIN_SCORE or not str(text).strip():
            continue
        ys = [p[1] for p in box]
        xs = [p[0] for p in box]
        pieces.append((min(ys), max(ys), min(xs), unicodedata.normalize("NFKC", str(text)).strip()))
    pieces.sort(key=lambda p: (p[0], p[2]))
    lines: list[list[tuple[float, float, float, str]]] = []
    for piece in pieces:
        top, bottom = piece[0], piece[1]
        if lines:
            line = lines[-1]
            line_top = min(p[0] for p in line)
            line_bottom = max(p[1] for p in line)
            overlap = min(bottom, line_bottom) - max(top, line_top)
            if overlap > 0.5 * min(bottom - top, line_bottom - line_top):
                line.append(piece)
                continue
        lines.append([piece])
    text = "\n".join(" ".join(p[3] for p in sorted(line, key=lambda p: p[2])) for line in lines)
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS].rsplit("\n", 1)[0] + "\n..."
    return text
