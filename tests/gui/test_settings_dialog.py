"""The settings dialog: the key stays hidden and private; saving applies without a restart."""

from __future__ import annotations

import dataclasses
import json
import stat

import keyring
import keyring.backend
import pytest
from jaraco.classes import properties
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLabel, QLineEdit, QPlainTextEdit

from desktop_app.config import AppPaths, Secret, Settings, load_settings
from desktop_app.gui.settings_dialog import SettingsDialog
from desktop_app.key_store import ACCOUNT, SERVICE, keyring_usable, load_api_key, save_settings_with_key
from tests.gui.helpers import FAST, LiveMicrophone, close_window, last_entry, open_window, wait_ready, wait_turn_finished

KEY = "sk-test-very-secret-0123456789"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring for tests (this machine has no Secret Service)."""

    @properties.classproperty
    def priority(cls):  # not viable: keyring's discovery never picks it, only set_keyring()
        raise RuntimeError("test backend")

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _shown_texts(dialog: SettingsDialog) -> list[str]:
    texts = []
    for edit in dialog.findChildren(QLineEdit):
        texts += [edit.text(), edit.displayText(), edit.placeholderText()]
    texts += [edit.toPlainText() for edit in dialog.findChildren(QPlainTextEdit)]
    for combo in dialog.findChildren(QComboBox):
        texts += [combo.itemText(i) for i in range(combo.count())]
    texts += [label.text() for label in dialog.findChildren(QLabel)]
    return texts


def test_dialog_never_shows_the_key_and_masks_a_typed_one(qtbot, qloop):
    dialog = SettingsDialog(Settings(llm_provider="openai", llm_api_key=Secret(KEY)), "file")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not any(KEY in text for text in _shown_texts(dialog))
    assert "stored in the settings file" in dialog.api_key.placeholderText()
    assert dialog.api_key.echoMode() == QLineEdit.EchoMode.Password
    # untouched: the stored key is kept
    assert dialog.result_settings().llm_api_key.get() == KEY
    # a new key typed in is masked on screen
    dialog.api_key.setFocus()
    QTest.keyClicks(dialog.api_key, "sk-new-key-abcdef")
    assert "sk-new" not in dialog.api_key.displayText()
    saved = []
    dialog.saveRequested.connect(saved.append)
    dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    assert saved and saved[0].llm_api_key.get() == "sk-new-key-abcdef"
    assert dialog.api_key.text() == ""  # the typed key does not linger in the widget
    assert "sk-new" not in repr(saved[0])


def test_dialog_maps_every_field(qtbot, qloop):
    dialog = SettingsDialog(FAST)
    qtbot.addWidget(dialog)
    assert dialog.provider.currentData() == "embedded" and dialog.model.currentText() == "smollm2-135m"
    dialog.provider.setCurrentIndex(dialog.provider.findData("custom"))
    dialog.base_url.setText("http://127.0.0.1:9/v1")
    dialog.model.setCurrentText("llama3.2")
    dialog.vision.setCurrentIndex(1)
    dialog.asr_model.setCurrentText("base")
    dialog.talk_key.setCurrentText("F9")
    dialog.max_tokens.setValue(99)
    dialog.system_prompt.setPlainText("Be brief.")
    assert dialog.read_text.isChecked() and not dialog.text_with_image.isChecked()
    dialog.read_text.setChecked(False)
    dialog.text_with_image.setChecked(True)
    result = dialog.result_settings()
    assert result.read_text_in_view is False and result.text_in_view_with_image is True
    assert (result.llm_provider, result.llm_base_url, result.llm_model) == ("openai", "http://127.0.0.1:9/v1", "llama3.2")
    assert result.llm_vision is True and result.asr_model == "base" and result.push_to_talk_key == "F9"
    assert result.llm_max_tokens == 99 and result.system_prompt == "Be brief."
    assert result.tts_voice == ""  # the default voice stays "default"
    # a custom server needs a URL: one clear line, nothing saved
    dialog.base_url.setText("")
    saved = []
    dialog.saveRequested.connect(saved.append)
    dialog.save()
    assert not saved and "URL" in dialog.error_label.text()


def test_key_goes_to_the_keyring_when_one_works(memory_keyring):
    paths = AppPaths.from_env()
    assert keyring_usable()
    path, where = save_settings_with_key(Settings(llm_provider="openai", llm_api_key=Secret(KEY)), paths)
    assert where == "keyring"
    text = path.read_text()
    assert KEY not in text and json.loads(text)["llm_api_key_in_keyring"] is True
    assert memory_keyring.items[(SERVICE, ACCOUNT)] == KEY
    assert load_settings(paths, {}, load_key=load_api_key).llm_api_key.get() == KEY
    # removing the key removes it from the keyring too
    save_settings_with_key(Settings(llm_provider="embedded"), paths)
    assert (SERVICE, ACCOUNT) not in memory_keyring.items


def test_without_a_keyring_the_key_stays_in_a_private_file():
    if keyring_usable():
        pytest.skip("this machine has a working keyring")
    paths = AppPaths.from_env()
    path, where = save_settings_with_key(Settings(llm_provider="openai", llm_api_key=Secret(KEY)), paths)
    assert where == "file"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["llm_api_key"] == KEY
    assert load_settings(paths, {}, load_key=load_api_key).llm_api_key.get() == KEY


def test_saving_applies_new_settings_without_a_restart(qtbot, qloop, memory_keyring):
    window = open_window(qtbot, qloop)
    try:
        wait_ready(qtbot, window)
        window.send_text("Say hi.")
        wait_turn_finished(qtbot, window, 1)
        old_engine = window.session.engine
        conversation_id = old_engine.conversation.id

        dialog = window.open_settings()
        assert dialog.isVisible()
        dialog.max_tokens.setValue(48)
        dialog.system_prompt.setPlainText("You are a terse assistant. Answer in at most ten words.")
        dialog.api_key.setText(KEY)  # stored, though the embedded model does not need it
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        assert not dialog.isVisible()
        qtbot.waitUntil(lambda: window.session.engine is not old_engine and not window.session.applying, timeout=300_000)

        stored = json.loads(window.paths.settings_file.read_text())
        assert stored["llm_max_tokens"] == 48 and stored["system_prompt"].startswith("You are a terse")
        assert KEY not in window.paths.settings_file.read_text()
        assert memory_keyring.items[(SERVICE, ACCOUNT)] == KEY

        engine = window.session.engine
        assert engine.backends.llm._max_tokens == 48
        assert engine.system_prompt.startswith("You are a terse")
        assert engine.conversation.id == conversation_id and len(engine.conversation.turns) == 1
        assert window.status_label.text().startswith("Ready") and not window.progress.isVisible()
        assert KEY not in window.status_label.text()

        window.send_text("Name a colour.")
        wait_turn_finished(qtbot, window, 2)
        assert last_entry(window).state == "done" and last_entry(window).reply_text.strip()
        assert len(engine.store.load(conversation_id).turns) == 2
    finally:
        close_window(qtbot, window)


def test_failed_settings_keep_the_old_engine_and_say_so_in_one_line(qtbot, qloop, tmp_path):
    window = open_window(qtbot, qloop)
    try:
        wait_ready(qtbot, window)
        old_engine = window.session.engine
        dialog = window.open_settings()
        dialog.model.setCurrentText(str(tmp_path / "missing-model.gguf"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Save).click()
        qtbot.waitUntil(lambda: "not applied" in window.status_label.text(), timeout=120_000)
        qtbot.waitUntil(lambda: not window.session.applying, timeout=60_000)
        assert window.session.engine is old_engine
        assert "\n" not in window.status_label.text()
        window.send_text("Say yes.")
        wait_turn_finished(qtbot, window, 1)
        assert last_entry(window).state == "done"
    finally:
        close_window(qtbot, window)


def test_talk_key_setting_moves_push_to_talk(qtbot, qloop):
    mic = LiveMicrophone()
    window = open_window(qtbot, qloop, microphone=mic)
    try:
        wait_ready(qtbot, window)
        window._apply_window_settings(dataclasses.replace(FAST, push_to_talk_key="F9"))
        window.transcript.setFocus()
        QTest.keyPress(window.transcript, Qt.Key.Key_Space)
        assert not window.talk_press.recording
        QTest.keyRelease(window.transcript, Qt.Key.Key_Space)
        window.talk_bar.input.setFocus()
        QTest.keyPress(window.talk_bar.input, Qt.Key.Key_F9)  # F9 types nothing: it talks even from the text box
        assert window.talk_press.recording
        QTest.keyRelease(window.talk_bar.input, Qt.Key.Key_F9)
        assert not window.talk_press.recording
    finally:
        close_window(qtbot, window)
