"""The Device check dialog in the real window (offscreen), on the window's loaded models."""

from __future__ import annotations

from PySide6.QtGui import QImage

from tests.gui.helpers import FAST, TURN_MS, LiveMicrophone, close_window, open_window, wait_ready


def test_device_check_from_the_toolbar_shows_each_check_and_its_fix(qtbot, qloop, tmp_path):
    settings = FAST.updated({"audio_input_device": "no-such-mic"})  # the checks' microphone is not there
    window = open_window(qtbot, qloop, microphone=LiveMicrophone(), settings=settings, video="pattern")
    try:
        window.device_check_action.trigger()
        dialog = window.device_check_dialog
        qtbot.waitExposed(dialog)
        assert dialog.windowTitle() == "Device check" and dialog.isVisible()
        assert window.open_device_check() is dialog  # one at a time
        assert list(dialog.rows) == ["mic", "speaker", "echo", "camera", "turn"]
        assert all(row.detail.text() == "not run yet" for row in dialog.rows.values())
        wait_ready(qtbot, window)  # the turn then runs on the window's models
        assert window.set_hands_free(True, remember=False) and window.hands_free.enabled

        with qtbot.waitSignal(dialog.checksFinished, timeout=TURN_MS) as finished:
            assert dialog.run(["turn", "mic", "camera"]) is not None
            assert not dialog.run_all.isEnabled()  # busy while it runs
            qtbot.waitUntil(lambda: not window.hands_free.enabled, timeout=5000)  # it would answer the test phrase
        results = {r.name: r for r in finished.args[0]}
        assert list(results) == ["microphone", "camera/screen", "spoken turn"]  # the checks' own order

        mic = dialog.rows["mic"]
        assert mic.badge.text() == "FAIL"
        assert mic.detail.text().startswith("no microphone named 'no-such-mic'")
        assert mic.fix.isVisible() and mic.fix.text().startswith("Fix: plug it in, or pick another microphone")

        camera = dialog.rows["camera"]
        assert camera.badge.text() == "PASS", camera.detail.text()
        assert "fps" in camera.detail.text() and results["camera/screen"].figures["fps"] > 0
        assert not dialog.preview.pixmap().isNull() and dialog.preview.pixmap().height() == 200

        turn = dialog.rows["turn"]
        assert turn.badge.text() == "PASS", turn.detail.text()
        for part in ("ASR", "first token", "first audio", "voice-to-voice"):
            assert part in turn.detail.text()
        assert "models loaded" not in turn.detail.text()  # the window's models, not a second copy
        assert dialog.rows["speaker"].detail.text() == "not run yet"
        assert dialog.progress.text() == "1 of 3 checks failed: microphone"
        assert dialog.run_all.isEnabled()
        assert window.hands_free.enabled  # back on after the run

        qtbot.wait(200)  # the last row's new text is laid out
        shot = tmp_path / "device-check.png"
        assert dialog.grab().save(str(shot), "PNG") and not QImage(str(shot)).isNull()
        dialog.close()
        assert not dialog.isVisible()
    finally:
        close_window(qtbot, window)
