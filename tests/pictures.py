"""Pictures for the tests of reading the view: a screen with an error, and one with no text."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

MONO = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"  # Debian's fonts-dejavu-core

ERROR_LINES = [
    "def send_invoice(client, url, data):",
    "    response = client.post(url, data)",
    "",
    "Traceback (most recent call last):",
    '  File "billing/upload.py", line 42, in send_invoice',
    "QuotaExceededError: error code 4291 - monthly quota exceeded",
]
ERROR_CODE = "4291"
ERROR_FILE = "upload.py"


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype(MONO, size)
    except OSError:
        return ImageFont.load_default(size)


def error_screen(size: tuple[int, int] = (1280, 720), font_px: int = 18, lines: list[str] = ERROR_LINES) -> Image.Image:
    """A dark editor with code and a Python traceback, as a user's screen shows it."""
    img = Image.new("RGB", size, (30, 32, 36))
    draw = ImageDraw.Draw(img)
    draw.multiline_text((48, 96), "\n".join(lines), fill=(225, 225, 225), font=_font(font_px), spacing=8)
    return img


def picture_without_text(size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A blue picture with a yellow circle: something to see, nothing to read."""
    img = Image.new("RGB", size, (40, 120, 200))
    ImageDraw.Draw(img).ellipse((size[0] * 0.3, size[1] * 0.25, size[0] * 0.7, size[1] * 0.75), fill=(240, 200, 30))
    return img


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def save_png(img: Image.Image, path: Path) -> Path:
    img.save(path, format="PNG")
    return path


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9_]+", text.lower()))


CANNOT_SEE = re.compile(
    r"\b(can ?not|can't|can’t|unable to|don't|do not|no way to|not able to)\b[^.]{0,40}\b(see|view|access|look)"
    r"|\bno (visual|image|picture|camera|screen)"
    r"|\bblind\b",
    re.IGNORECASE,
)


def write_y4m(img: Image.Image, path: Path, frames: int = 10, fps: int = 10) -> Path:
    """A still picture as a Y4M video (4:2:0), for Chromium's fake camera
    (``--use-file-for-fake-video-capture``): a phone camera pointed at a page."""
    rgb = img.convert("RGB")
    w, h = rgb.size[0] // 2 * 2, rgb.size[1] // 2 * 2
    ycbcr = rgb.crop((0, 0, w, h)).convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (w // 2, h // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)
    return path
