"""The settings dialog: models, key, voice, conversation (hands-free), devices, hotkey, system prompt.

The dialog only edits a copy of the settings: ``result_settings()`` returns the new
:class:`~desktop_app.config.Settings` and ``saveRequested`` carries it to the window,
which stores it and applies it without a restart.

The API key is never put into a widget: the key field starts empty (its placeholder
says whether a key is stored and where) and only a newly typed key replaces the stored
one; it is masked while typed.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.config import TURN_PAUSE_MS_RANGE, Secret, Settings
from desktop_app.media.devices import input_names, output_names

PROVIDERS = [
    ("embedded", "Embedded (runs on this computer)"),
    ("openai", "OpenAI"),
    ("custom", "OpenAI-compatible server (custom URL)"),
]
MODELS = {
    "embedded": ["qwen2.5-coder-1.5b", "smollm2-135m"],
    "openai": ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1"],
    "custom": ["llama3.2", "qwen2.5", "gemma3", "llava"],
}
DEFAULT_MODEL = {"embedded": "qwen2.5-coder-1.5b", "openai": "gpt-4o-mini", "custom": "the server's model name"}
VISION = [(None, "Automatic (from the model name)"), (True, "On: send the camera frame"), (False, "Off")]
ASR_MODELS = ["tiny.en", "base"]
TTS_PROVIDERS = [("piper", "Piper (runs on this computer)"), ("openai", "OpenAI-compatible speech endpoint")]
VOICES = {"piper": ["joe"], "openai": ["alloy", "echo", "fable", "onyx", "nova", "shimmer"]}
TALK_KEYS = ["Space", "F8", "F9", "F10", "F12", "Insert", "Pause", "ScrollLock"]
DEFAULT_DEVICE = "System default"


def _editable_combo(items: list[str], text: str, placeholder: str = "") -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)
    combo.addItems(items)
    combo.setCurrentText(text)
    if placeholder:
        combo.lineEdit().setPlaceholderText(placeholder)
    return combo


def _device_combo(names: list[str], current: str, none_text: str) -> QComboBox:
    combo = QComboBox()
    if not names and not current:
        combo.addItem(none_text, "")
        combo.setEnabled(False)
        return combo
    combo.addItem(DEFAULT_DEVICE, "")
    for name in names:
        combo.addItem(name, name)
    if current and current not in names:
        combo.addItem(f"{current} (not connected)", current)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


def provider_kind(settings: Settings) -> str:
    if settings.resolved_llm_provider() == "embedded":
        return "embedded"
    return "custom" if settings.llm_base_url else "openai"


class SettingsDialog(QDialog):
    saveRequested = Signal(object)  # the new Settings

    def __init__(self, settings: Settings, key_location: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(560)
        self.original = settings
        self._initial_kind = provider_kind(settings)
        layout = QVBoxLayout(self)
        layout.addWidget(self._language_group(settings, key_location))
        layout.addWidget(self._speech_group(settings))
        layout.addWidget(self._conversation_group(settings))
        layout.addWidget(self._devices_group(settings))
        self.error_label = QLabel("")
        self.error_label.setObjectName("settingsError")
        self.error_label.setStyleSheet("color: #ff7b72;")
        self.error_label.hide()
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._on_provider(self.provider.currentIndex())

    # ---- groups ---------------------------------------------------------------------

    def _language_group(self, s: Settings, key_location: str) -> QGroupBox:
        box = QGroupBox("Language model")
        form = QFormLayout(box)
        self.provider = QComboBox()
        for kind, label in PROVIDERS:
            self.provider.addItem(label, kind)
        self.provider.setCurrentIndex(self.provider.findData(self._initial_kind))
        self.provider.currentIndexChanged.connect(self._on_provider)
        form.addRow("Provider", self.provider)
        self.base_url = QLineEdit(s.llm_base_url)
        self.base_url.setPlaceholderText("http://localhost:11434/v1")
        form.addRow("Server URL", self.base_url)
        self.model = _editable_combo(MODELS[self._initial_kind], s.llm_model)
        form.addRow("Model", self.model)
        self.api_key = QLineEdit()
        self.api_key.setObjectName("apiKey")
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        stored = {"keyring": "in the system keyring", "file": "in the settings file (readable only by you)"}
        if s.llm_api_key:
            where = stored.get(key_location, "from the environment or settings")
            self.api_key.setPlaceholderText(f"a key is stored {where}: type to replace it")
        else:
            self.api_key.setPlaceholderText("paste your API key (not needed for the embedded model)")
        self.clear_key = QCheckBox("Remove the stored key")
        self.clear_key.setVisible(bool(s.llm_api_key))
        key_row = QHBoxLayout()
        key_row.addWidget(self.api_key, 1)
        key_row.addWidget(self.clear_key)
        form.addRow("API key", key_row)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 16384)
        self.max_tokens.setValue(s.llm_max_tokens)
        form.addRow("Longest reply (tokens)", self.max_tokens)
        self.vision = QComboBox()
        for value, label in VISION:
            self.vision.addItem(label, value)
        self.vision.setCurrentIndex([v for v, _ in VISION].index(s.llm_vision))
        form.addRow("Vision", self.vision)
        self.read_text = QCheckBox("Read the text in view for a model that cannot see (OCR)")
        self.read_text.setObjectName("readTextInView")
        self.read_text.setChecked(s.read_text_in_view)
        self.read_text.setToolTip(
            "The text on your screen or in front of the camera is read on this computer and given to the "
            "model with your words. Off: the model is told that it cannot see."
        )
        form.addRow("", self.read_text)
        self.text_with_image = QCheckBox("Also give a model that sees the text read from the image")
        self.text_with_image.setObjectName("textInViewWithImage")
        self.text_with_image.setChecked(s.text_in_view_with_image)
        form.addRow("", self.text_with_image)
        self.system_prompt = QPlainTextEdit(s.system_prompt)
        self.system_prompt.setObjectName("systemPrompt")
        self.system_prompt.setFixedHeight(90)
        form.addRow("System prompt", self.system_prompt)
        return box

    def _speech_group(self, s: Settings) -> QGroupBox:
        box = QGroupBox("Speech")
        form = QFormLayout(box)
        self.asr_model = _editable_combo(ASR_MODELS, s.asr_model, "tiny.en, base, or a model directory")
        form.addRow("Speech recognition", self.asr_model)
        self.tts_provider = QComboBox()
        for kind, label in TTS_PROVIDERS:
            self.tts_provider.addItem(label, kind)
        self.tts_provider.setCurrentIndex(max(0, self.tts_provider.findData(s.tts_provider)))
        self.tts_provider.currentIndexChanged.connect(self._on_tts_provider)
        form.addRow("Voice provider", self.tts_provider)
        self.voice = _editable_combo(VOICES.get(s.tts_provider, []), s.resolved_tts_voice())
        form.addRow("Voice", self.voice)
        return box

    def _conversation_group(self, s: Settings) -> QGroupBox:
        box = QGroupBox("Conversation")
        form = QFormLayout(box)
        self.hands_free = QCheckBox("Hands-free: listen all the time instead of push-to-talk")
        self.hands_free.setChecked(s.hands_free)
        form.addRow(self.hands_free)
        self.turn_pause = QSpinBox()
        self.turn_pause.setRange(*TURN_PAUSE_MS_RANGE)
        self.turn_pause.setSingleStep(100)
        self.turn_pause.setSuffix(" ms")
        self.turn_pause.setValue(s.resolved_turn_pause_ms())
        self.turn_pause.setToolTip("How long you pause before your turn is sent")
        form.addRow("End of turn after a pause of", self.turn_pause)
        self.barge_in = QCheckBox("Talking over the reply interrupts it (turn off in noisy rooms)")
        self.barge_in.setChecked(s.barge_in)
        form.addRow(self.barge_in)
        self.echo_cancellation = QCheckBox("Echo cancellation (steps aside by itself when headphones leave no echo)")
        self.echo_cancellation.setChecked(s.echo_cancellation)
        form.addRow(self.echo_cancellation)
        self.close_microphone_when_hidden = QCheckBox("Close the microphone while the window is minimized")
        self.close_microphone_when_hidden.setToolTip(
            "The microphone stays open while the window is shown, so the first word of a press is never lost;\n"
            "nothing is kept but the last 300 ms until you talk. Hands-free keeps it open: it is listening."
        )
        self.close_microphone_when_hidden.setChecked(s.close_microphone_when_hidden)
        form.addRow(self.close_microphone_when_hidden)
        self.hands_free.toggled.connect(self._on_hands_free)
        self._on_hands_free(s.hands_free)
        return box

    def _on_hands_free(self, on: bool) -> None:
        for widget in (self.turn_pause, self.barge_in, self.echo_cancellation):
            widget.setEnabled(on)

    def _devices_group(self, s: Settings) -> QGroupBox:
        box = QGroupBox("Devices and keys")
        form = QFormLayout(box)
        self.microphone = _device_combo(input_names(), s.audio_input_device, "No microphone found")
        form.addRow("Microphone", self.microphone)
        self.speaker = _device_combo(output_names(), s.audio_output_device, "No speaker found")
        form.addRow("Speaker", self.speaker)
        self.talk_key = QComboBox()
        self.talk_key.addItems(TALK_KEYS)
        if s.push_to_talk_key not in TALK_KEYS:
            self.talk_key.addItem(s.push_to_talk_key)
        self.talk_key.setCurrentText(s.push_to_talk_key)
        form.addRow("Push-to-talk key (hold)", self.talk_key)
        self.talk_key_global = QCheckBox("The key works in other windows too (global hotkey)")
        self.talk_key_global.setToolTip(
            "Hold the key while another application has the focus. X11 only (not Wayland, macOS or Windows);\n"
            "the key is taken from every application, so choose one that types nothing, such as F9."
        )
        self.talk_key_global.setChecked(s.push_to_talk_global)
        form.addRow(self.talk_key_global)
        return box

    # ---- behaviour ------------------------------------------------------------------

    def _on_provider(self, _index: int) -> None:
        kind = self.provider.currentData()
        self.base_url.setEnabled(kind == "custom")
        text = self.model.currentText()
        self.model.blockSignals(True)
        self.model.clear()
        self.model.addItems(MODELS[kind])
        self.model.setCurrentText(text if kind == self._initial_kind else "")
        self.model.lineEdit().setPlaceholderText(f"default: {DEFAULT_MODEL[kind]}")
        self.model.blockSignals(False)

    def _on_tts_provider(self, _index: int) -> None:
        kind = self.tts_provider.currentData()
        self.voice.clear()
        self.voice.addItems(VOICES.get(kind, []))

    def result_settings(self) -> Settings:
        s = self.original
        kind = self.provider.currentData()
        if kind == self._initial_kind and s.llm_provider == "auto":
            provider = "auto"
        else:
            provider = "embedded" if kind == "embedded" else "openai"
        base_url = self.base_url.text().strip() if kind == "custom" else ("" if kind == "openai" else s.llm_base_url)
        typed_key = self.api_key.text().strip()
        if typed_key:
            key = Secret(typed_key)
        elif self.clear_key.isChecked():
            key = Secret("")
        else:
            key = s.llm_api_key
        tts_provider = self.tts_provider.currentData()
        voice = self.voice.currentText().strip()
        return dataclasses.replace(
            s,
            llm_provider=provider,
            llm_base_url=base_url,
            llm_model=self.model.currentText().strip(),
            llm_api_key=key,
            llm_max_tokens=self.max_tokens.value(),
            llm_vision=self.vision.currentData(),
            read_text_in_view=self.read_text.isChecked(),
            text_in_view_with_image=self.text_with_image.isChecked(),
            system_prompt=self.system_prompt.toPlainText().strip() or s.system_prompt,
            asr_model=self.asr_model.currentText().strip() or "tiny.en",
            tts_provider=tts_provider,
            tts_voice="" if voice == Settings(tts_provider=tts_provider).resolved_tts_voice() else voice,
            audio_input_device=self.microphone.currentData() or "",
            audio_output_device=self.speaker.currentData() or "",
            push_to_talk_key=self.talk_key.currentText(),
            push_to_talk_global=self.talk_key_global.isChecked(),
            hands_free=self.hands_free.isChecked(),
            turn_pause_ms=self.turn_pause.value(),
            barge_in=self.barge_in.isChecked(),
            echo_cancellation=self.echo_cancellation.isChecked(),
            close_microphone_when_hidden=self.close_microphone_when_hidden.isChecked(),
        )

    def problem(self, settings: Settings) -> str | None:
        if self.provider.currentData() == "custom":
            url = settings.llm_base_url
            if not url.startswith(("http://", "https://")):
                return "Give the server URL, starting with http:// or https://"
        if self.provider.currentData() == "openai" and not settings.llm_api_key:
            return "OpenAI needs an API key"
        return None

    def save(self) -> None:
        settings = self.result_settings()
        problem = self.problem(settings)
        if problem is not None:
            self.error_label.setText(problem)
            self.error_label.show()
            return
        self.api_key.clear()  # the typed key leaves the widget now
        self.saveRequested.emit(settings)
        self.accept()
