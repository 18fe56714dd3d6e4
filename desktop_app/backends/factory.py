"""Pick backend implementations from settings: the only place that chooses."""

from __future__ import annotations

from desktop_app.backends.asr.base import SpeechRecognizer
from desktop_app.backends.llm.base import ChatModel
from desktop_app.backends.tts.base import SpeechSynthesizer
from desktop_app.blas_threads import one_blas_thread
from desktop_app.bundled_models import Progress
from desktop_app.config import AppPaths, Settings
from desktop_app.core.sight import system_prompt as sight_prompt
from desktop_app.core.turn import Backends
from desktop_app.errors import ConfigError
from desktop_app.malloc_arenas import free_memory_after_turns, limit_malloc_arenas


def make_asr(settings: Settings, paths: AppPaths, progress: Progress | None = None) -> SpeechRecognizer:
    if settings.asr_provider == "embedded":
        from desktop_app.backends.asr.whisper_local import WhisperRecognizer

        return WhisperRecognizer(settings.asr_model, paths.models_dir, settings.asr_language, progress=progress)
    if settings.asr_provider == "openai":
        from desktop_app.backends.asr.openai_transcription import OpenAITranscriber

        base_url = settings.asr_base_url or settings.llm_base_url
        return OpenAITranscriber(base_url, settings.llm_api_key.get(), settings.asr_openai_model, settings.asr_language)
    raise ConfigError(f"unknown ASR provider {settings.asr_provider!r}: use 'embedded' or 'openai'")


def make_llm(settings: Settings, paths: AppPaths, progress: Progress | None = None) -> ChatModel:
    provider = settings.resolved_llm_provider()
    if provider == "embedded":
        from desktop_app.backends.llm.llama_local import LlamaChatModel

        return LlamaChatModel(
            settings.resolved_llm_model(),
            paths.models_dir,
            threads=settings.llm_threads,
            context=settings.llm_context,
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
            progress=progress,
            system_prompt=sight_prompt(settings.system_prompt, vision=False),
        )
    if provider == "openai":
        from desktop_app.backends.llm.openai_chat import OpenAIChatModel

        return OpenAIChatModel(
            settings.llm_base_url,
            settings.llm_api_key.get(),
            settings.resolved_llm_model(),
            vision=settings.resolved_vision(),
            max_tokens=settings.llm_max_tokens,
            temperature=settings.llm_temperature,
        )
    raise ConfigError(f"unknown LLM provider {settings.llm_provider!r}: use 'auto', 'embedded' or 'openai'")


def make_tts(settings: Settings) -> SpeechSynthesizer:
    if settings.tts_provider == "piper":
        from desktop_app.backends.tts.piper_local import PiperSynthesizer

        return PiperSynthesizer(settings.resolved_tts_voice())
    if settings.tts_provider == "openai":
        from desktop_app.backends.tts.openai_speech import OpenAISpeechSynthesizer

        base_url = settings.tts_base_url or settings.llm_base_url
        return OpenAISpeechSynthesizer(base_url, settings.llm_api_key.get(), settings.tts_model, settings.resolved_tts_voice())
    raise ConfigError(f"unknown TTS provider {settings.tts_provider!r}: use 'piper' or 'openai'")


def make_vad():
    """Silero (the model inside faster-whisper's wheel): used whatever recognizes the words."""
    from desktop_app.backends.asr.vad import SileroVoiceActivity

    return SileroVoiceActivity()


def make_turn_model(settings: Settings):
    """Smart Turn v3 when it is installed and wanted; None: hands-free uses the pause alone."""
    if not settings.smart_turn:
        return None
    from desktop_app.backends.turn.smart_turn import SmartTurnModel, bundled_model_path

    return SmartTurnModel() if bundled_model_path() is not None else None


def make_reader(settings: Settings):
    """The OCR that reads the view for a model that cannot see (or along with the image)."""
    wanted = settings.text_in_view_with_image if settings.resolved_vision() else settings.read_text_in_view
    if not wanted:
        return None
    from desktop_app.backends.ocr.rapid_ocr import RapidTextReader

    return RapidTextReader()


def make_backends(settings: Settings, paths: AppPaths, progress: Progress | None = None) -> Backends:
    limit_malloc_arenas()  # before the model threads start (every face builds its backends here)
    one_blas_thread()
    return Backends(
        asr=make_asr(settings, paths, progress),
        llm=make_llm(settings, paths, progress),
        tts=make_tts(settings),
        vad=make_vad(),
        turn=make_turn_model(settings),
        reader=make_reader(settings),
    )


def make_engine(settings: Settings, paths: AppPaths, progress: Progress | None = None, conversation=None):
    """An :class:`~desktop_app.core.engine.Engine` wired to the configured backends."""
    from desktop_app.core.engine import Engine, default_store

    engine = Engine(
        make_backends(settings, paths, progress),
        default_store(paths.data_dir),
        settings.system_prompt,
        conversation,
        view_text_with_image=settings.text_in_view_with_image,
        prepare_replies=settings.prepare_replies,
    )
    engine.subscribe(free_memory_after_turns)
    return engine
