"""Settings: one JSON file in the user config dir, then environment overrides.

Precedence, lowest first: built-in defaults, ``settings.json``, environment.
Every field can be overridden with ``AIWEBCAM_<FIELD>`` (for example
``AIWEBCAM_LLM_MODEL``); the usual OpenAI variables are honoured too
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_MODEL``).

API keys are held in :class:`Secret`, whose ``repr``/``str`` never show the value.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import platformdirs

from desktop_app import APP_NAME
from desktop_app.errors import ConfigError
from desktop_app.storage import atomic_write_text

DEFAULT_SYSTEM_PROMPT = (
    "You are a friendly assistant in a live video call. The user speaks to you and you "
    "answer out loud, so keep answers short and conversational: one to three sentences "
    "unless asked for more. When the user asks for code, put it in a fenced code block."
)


class Secret:
    """A string that never prints itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None) -> None:
        self._value = value or ""

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__


TURN_PAUSE_MS_RANGE = (200, 3000)  # hands-free: the pause that ends a turn, in ms


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "AppPaths":
        env = os.environ if env is None else env
        return cls(
            config_dir=Path(env.get("AIWEBCAM_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME)),
            data_dir=Path(env.get("AIWEBCAM_DATA_DIR") or platformdirs.user_data_dir(APP_NAME)),
            cache_dir=Path(env.get("AIWEBCAM_CACHE_DIR") or platformdirs.user_cache_dir(APP_NAME)),
        )

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def conversations_dir(self) -> Path:
        return self.data_dir / "conversations"

    @property
    def models_dir(self) -> Path:
        return self.cache_dir / "models"


@dataclass
class Settings:
    # Language model. provider: "auto" (OpenAI when OPENAI_API_KEY is set, else embedded),
    # "embedded" (llama.cpp in-process) or "openai" (any OpenAI-compatible endpoint).
    llm_provider: str = "auto"
    # embedded: "qwen2.5-coder-1.5b" (default), "smollm2-135m" or a path to a .gguf file.
    # openai: the served model name ("gpt-4o-mini", "llama3.2", ...).
    llm_model: str = ""
    llm_base_url: str = ""
    llm_api_key: Secret = field(default_factory=lambda: Secret(""))
    # True: the key lives in the system keyring (desktop_app.key_store), not in this file.
    llm_api_key_in_keyring: bool = False
    # Send the current frame with the words. None: decided from the model name.
    llm_vision: bool | None = None
    # A model that cannot see images is given the text OCR reads from the camera or
    # screen (in-process, offline); off: it is told that it cannot see the view.
    read_text_in_view: bool = True
    # A model that can see gets the image; True: the OCR text goes along with it.
    text_in_view_with_image: bool = False
    llm_max_tokens: int = 512
    llm_temperature: float = 0.7
    llm_threads: int = 0  # 0: one per core
    llm_context: int = 4096
    # When the user pauses, an embedded model starts the reply at once, unseen; the turn
    # uses it if no more words come (core.prepared_reply). Off: it starts at the release.
    prepare_replies: bool = True
    system_prompt: str = DEFAULT_SYSTEM_PROMPT

    # Speech recognition. provider: "embedded" (faster-whisper in-process) or "openai".
    asr_provider: str = "embedded"
    # embedded: "tiny.en" (default, bundled), "base" (bundled, multilingual), any
    # faster-whisper model name (downloaded only when online) or a model directory.
    asr_model: str = "tiny.en"
    asr_language: str = ""  # "" = detect (multilingual models) / English (.en models)

    # Speech synthesis. provider: "piper" (in-process) or "openai" (speech endpoint).
    tts_provider: str = "piper"
    tts_voice: str = ""  # piper: "joe" or a path to an .onnx voice; openai: "alloy", ...
    tts_model: str = "gpt-4o-mini-tts"
    # Separate endpoints for ASR/TTS when they differ from the chat endpoint.
    asr_base_url: str = ""
    tts_base_url: str = ""
    asr_openai_model: str = "whisper-1"

    # Desktop app: sound devices by name ("" = the system default) and the key to hold
    # for push-to-talk (a Qt key name: "Space", "F9", ...).
    audio_input_device: str = ""
    audio_output_device: str = ""
    push_to_talk_key: str = "Space"
    # The key also talks while another window has the focus (a global hotkey: X11 only, and
    # not Space, which the grab would take from every application).
    push_to_talk_global: bool = False
    # The window keeps its microphone open (armed) so no word is lost at a press; nothing
    # is kept but the last 300 ms until you talk. True: it closes while the window is
    # minimized or hidden (hands-free on keeps it open: it is listening).
    close_microphone_when_hidden: bool = True

    # Hands-free (desktop app): listen all the time instead of push-to-talk. A turn ends
    # after a pause of turn_pause_ms; talking over the reply interrupts it (barge_in);
    # echo_cancellation removes the app's own voice from the microphone (with headphones,
    # where there is no echo to remove, it steps aside during each reply by itself:
    # media/echo_path.py).
    hands_free: bool = False
    turn_pause_ms: int = 600  # within TURN_PAUSE_MS_RANGE (see resolved_turn_pause_ms)
    barge_in: bool = True
    echo_cancellation: bool = True
    # An audio end-of-turn model (Smart Turn v3) ends a finished question after a short
    # pause instead of turn_pause_ms; off: the pause alone decides.
    smart_turn: bool = True

    # ---- derived values -------------------------------------------------------------

    def resolved_turn_pause_ms(self) -> int:
        low, high = TURN_PAUSE_MS_RANGE
        return min(max(int(self.turn_pause_ms), low), high)

    def resolved_llm_provider(self) -> str:
        if self.llm_provider == "auto":
            return "openai" if self.llm_api_key else "embedded"
        return self.llm_provider

    def resolved_llm_model(self) -> str:
        if self.llm_model:
            return self.llm_model
        return "gpt-4o-mini" if self.resolved_llm_provider() == "openai" else "qwen2.5-coder-1.5b"

    def resolved_vision(self) -> bool:
        if self.llm_vision is not None:
            return self.llm_vision
        if self.resolved_llm_provider() != "openai":
            return False
        name = self.resolved_llm_model().lower()
        return any(tag in name for tag in ("gpt-4o", "gpt-4.1", "gpt-5", "vision", "llava", "-vl", "vl-", "gemma3", "pixtral", "o3", "o4"))

    def resolved_tts_voice(self) -> str:
        if self.tts_voice:
            return self.tts_voice
        return "alloy" if self.tts_provider == "openai" else "joe"

    # ---- persistence ------------------------------------------------------------------

    def to_json_dict(self, include_secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                if not include_secrets:
                    continue
                value = value.get()
            out[f.name] = value
        return out

    def redacted(self) -> dict[str, Any]:
        out = self.to_json_dict(include_secrets=False)
        out["llm_api_key"] = "***" if self.llm_api_key else ""
        return out

    def updated(self, values: Mapping[str, Any]) -> "Settings":
        return dataclasses.replace(self, **_coerce(values))


_FIELD_TYPES = {f.name: f for f in fields(Settings)}


def _coerce(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in _FIELD_TYPES:
            raise ConfigError(f"unknown setting {name!r}")
        default = getattr(Settings(), name)
        try:
            out[name] = _coerce_one(name, raw, default)
        except (TypeError, ValueError):
            raise ConfigError(f"setting {name!r} has an invalid value") from None
    return out


def _coerce_one(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, Secret):
        return raw if isinstance(raw, Secret) else Secret(str(raw or ""))
    if name == "llm_vision":
        if raw is None or raw == "" or (isinstance(raw, str) and raw.lower() == "auto"):
            return None
        return _parse_bool(raw)
    if isinstance(default, bool):
        return _parse_bool(raw)
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return str(raw)


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


_OPENAI_ENV = {
    "OPENAI_API_KEY": "llm_api_key",
    "OPENAI_BASE_URL": "llm_base_url",
    "OPENAI_MODEL": "llm_model",
}


def env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, name in _OPENAI_ENV.items():
        if env.get(var):
            out[name] = env[var]
    for name in _FIELD_TYPES:
        var = f"AIWEBCAM_{name.upper()}"
        if var in env:
            out[name] = env[var]
    return out


def load_settings(
    paths: AppPaths | None = None,
    env: Mapping[str, str] | None = None,
    load_key: Callable[[], str] | None = None,
) -> Settings:
    """Defaults, then the settings file, then the environment.

    ``load_key`` reads the API key from where it is kept when the file says it is not in
    the file (the app passes ``desktop_app.key_store.load_api_key``: the system keyring).
    """
    paths = paths or AppPaths.from_env(env)
    env = os.environ if env is None else env
    settings = Settings()
    if paths.settings_file.exists():
        try:
            stored = json.loads(paths.settings_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read settings file {paths.settings_file}: {type(exc).__name__}") from None
        if not isinstance(stored, dict):
            raise ConfigError(f"settings file {paths.settings_file} is not a JSON object")
        settings = settings.updated(stored)
    if settings.llm_api_key_in_keyring and not settings.llm_api_key and load_key is not None:
        settings = dataclasses.replace(settings, llm_api_key=Secret(load_key()))
    return settings.updated(env_overrides(env))


def save_settings(settings: Settings, paths: AppPaths | None = None) -> Path:
    """Write the settings file (readable only by the user: it may hold an API key)."""
    paths = paths or AppPaths.from_env()
    data = json.dumps(settings.to_json_dict(include_secrets=True), indent=2, sort_keys=True)
    atomic_write_text(paths.settings_file, data + "\n", private=True)
    return paths.settings_file
