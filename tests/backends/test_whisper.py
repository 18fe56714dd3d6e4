"""faster-whisper on speech the tests synthesize, with the bundled models, offline."""

import numpy as np
import pytest

from desktop_app.backends.asr.whisper_local import WhisperRecognizer
from desktop_app.errors import ModelNotFoundError
from desktop_app.media.audio_file import load_audio
from tests.speech import espeak_wav, piper_wav, word_error_rate

SENTENCES = [
    "What is the weather like in Paris today?",
    "Please write a short poem about the ocean.",
    "How many legs does a spider have?",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return WhisperRecognizer("tiny.en", tmp_path_factory.mktemp("models"))


async def test_tiny_en_transcribes_piper_and_espeak_speech(tiny):
    errors = []
    for sentence in SENTENCES:
        for wav in (piper_wav(sentence), espeak_wav(sentence)):
            result = await tiny.transcribe(load_audio(wav))
            errors.append(word_error_rate(sentence, result.text))
            assert result.speech_ms > 500
    assert np.mean(errors) <= 0.15, errors


async def test_silence_and_noise_give_no_words(tiny):
    silence = np.zeros(16000 * 3, dtype=np.float32)
    assert (await tiny.transcribe(silence)).text == ""
    rng = np.random.default_rng(0)
    hiss = (rng.standard_normal(16000 * 2) * 0.003).astype(np.float32)
    assert (await tiny.transcribe(hiss)).text == ""


async def test_multilingual_base_is_assembled_and_works(tmp_path):
    base = WhisperRecognizer("base", tmp_path)
    result = await base.transcribe(load_audio(piper_wav(SENTENCES[2])))
    assert word_error_rate(SENTENCES[2], result.text) <= 0.2
    assert result.language == "en"
    assert (tmp_path / "whisper-base" / "model.bin").stat().st_size == 145_217_532


async def test_unknown_model_offline_names_the_bundled_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recognizer = WhisperRecognizer("no-such-model-xyz", tmp_path)
    with pytest.raises(ModelNotFoundError, match="tiny.en, base"):
        await recognizer.load()


def test_run_on_guard_keeps_only_a_shorter_prefix() -> None:
    from desktop_app.backends.asr.whisper_short import _is_shorter_prefix, _sentences

    run_on = "What is the capital of Italy? What is capital of Diddly?"
    assert _sentences(run_on) == 2 and _sentences("What is the capital of France?") == 1
    assert _is_shorter_prefix("What is the capital of Italy?", run_on)  # the stamped decode wins
    assert not _is_shorter_prefix("What is the capital of Italy? What is capital of Diddly?", run_on)
    assert not _is_shorter_prefix("Where is the capital of Italy?", run_on)  # a different reading: keep
    assert not _is_shorter_prefix("", run_on)
