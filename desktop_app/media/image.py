"""Frames for vision models: sensibly sized JPEG data URLs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from desktop_app.errors import AppError

MAX_SIDE = 1024


def load_image_jpeg(path: str | Path, max_side: int = MAX_SIDE, quality: int = 85) -> bytes:
    path = Path(path)
    if not path.exists():
        raise AppError(f"image file not found: {path}")
    try:
        with Image.open(path) as img:
            return to_jpeg(img, max_side, quality)
    except (UnidentifiedImageError, OSError) as exc:
        raise AppError(f"not a readable image: {path} ({type(exc).__name__})") from None


def to_jpeg(img: Image.Image, max_side: int = MAX_SIDE, quality: int = 85) -> bytes:
    img = img.convert("RGB")
    img.thumbnail((max_side, max_side))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=quality)
    return out.getvalue()

