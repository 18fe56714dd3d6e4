"""A QR code for the join URL, drawn into a QImage (segno makes the matrix)."""

from __future__ import annotations

import numpy as np
import segno
from PySide6.QtGui import QImage, QPixmap


def qr_image(text: str, module_px: int = 5, border: int = 2) -> QImage:
    """Black modules on white, ``module_px`` pixels per module, ``border`` modules of margin."""
    code = segno.make(text, error="m", micro=False)
    dark = np.array(list(code.matrix_iter(scale=1, border=border)), dtype=bool)
    pixels = np.where(dark, 0, 255).astype(np.uint8)
    pixels = np.ascontiguousarray(np.repeat(np.repeat(pixels, module_px, axis=0), module_px, axis=1))
    height, width = pixels.shape
    return QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8).copy()


def qr_pixmap(text: str, module_px: int = 5) -> QPixmap:
    return QPixmap.fromImage(qr_image(text, module_px))
