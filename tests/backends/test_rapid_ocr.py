"""The text reader on real pictures: the PP-OCRv4 models from the wheel, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop_app.backends.ocr.rapid_ocr import RapidTextReader, text_in_reading_order
from desktop_app.core.frame_text import fingerprint
from tests.pictures import ERROR_CODE, ERROR_LINES, error_screen, jpeg, picture_without_text, words


@pytest.fixture(scope="module")
def reader():
    import asyncio

    reader = RapidTextReader()
    asyncio.run(reader.load())
    yield reader


def test_the_models_ship_inside_the_wheel():
    import rapidocr_onnxruntime

    models = Path(rapidocr_onnxruntime.__file__).parent / "models"
    onnx = sorted(p.name for p in models.glob("*.onnx"))
    assert len(onnx) == 3, onnx  # detection, orientation, recognition: nothing to fetch
    assert all((models / name).stat().st_size > 100_000 for name in onnx)


async def test_reads_an_error_on_a_screen(reader):
    text = await reader.read(jpeg(error_screen()))
    expected = words("\n".join(ERROR_LINES))
    found = words(text)
    # OCR joins some words ("calllast"); most words and the key facts come through
    assert len(expected & found) >= 0.7 * len(expected), text
    assert ERROR_CODE in text
    assert "upload" in text and "42" in text
    lines = text.splitlines()
    assert lines.index(next(l for l in lines if "Traceback" in l)) < lines.index(next(l for l in lines if ERROR_CODE in l))


async def test_a_picture_without_text_reads_as_nothing(reader):
    assert await reader.read(jpeg(picture_without_text())) == ""


def test_a_screen_is_the_same_view_until_one_digit_changes():
    for size in ((1280, 720), (1920, 1080)):
        code = fingerprint(jpeg(error_screen(size)))
        assert code == fingerprint(jpeg(error_screen(size)))  # the same screen encodes the same
        other_code = error_screen(size, lines=[line.replace("4291", "4297") for line in ERROR_LINES])
        assert code != fingerprint(jpeg(other_code))  # read again: never a stale answer


def test_reading_order_groups_pieces_into_lines():
    box = lambda x, y: [[x, y], [x + 50, y], [x + 50, y + 20], [x, y + 20]]  # noqa: E731
    result = [
        (box(200, 102), "world", 0.9),
        (box(10, 100), "hello", 0.95),
        (box(10, 140), "second，line", 0.9),  # full-width comma, as the Chinese model writes it
        (box(10, 180), "noise", 0.2),
    ]
    assert text_in_reading_order(result) == "hello world\nsecond,line"
