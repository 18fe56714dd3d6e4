"""``aiwebcam ask`` as a user runs it: a subprocess, real models, no network."""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from desktop_app.media.audio_file import load_audio, write_wav
from tests.speech import piper_wav, word_error_rate

FAST_ENV = {"AIWEBCAM_LLM_PROVIDER": "embedded", "AIWEBCAM_LLM_MODEL": "smollm2-135m", "AIWEBCAM_LLM_MAX_TOKENS": "80"}


def run(cmd, *args, env_extra=None, prefix=()):
    env = {**os.environ, **FAST_ENV, **(env_extra or {})}
    return subprocess.run([*prefix, *cmd, *args], env=env, capture_output=True, text=True, timeout=600)


def can_cut_network() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0


def test_ask_answers_a_spoken_question_with_a_spoken_reply(aiwebcam_cmd, tmp_path):
    out_wav = tmp_path / "reply.wav"
    # Cut the network off when we can: the embedded path must not need it.
    prefix = ("unshare", "-n") if can_cut_network() else ()
    result = run(aiwebcam_cmd, "ask", str(piper_wav("What is the capital of France?")), "--json", "--out", str(out_wav), prefix=prefix)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert word_error_rate("what is the capital of france", data["transcript"]) <= 0.2
    assert data["reply"].strip()
    assert data["audio_seconds"] > 0.5
    for key in ("asr_ms", "llm_ttft_ms", "first_chunk_ms", "tts_first_audio_ms", "v2v_ms"):
        assert data["metrics"][key] > 0, key
    reply_audio = load_audio(out_wav)
    assert abs(reply_audio.size / 16000 - data["audio_seconds"]) < 0.1
    assert np.abs(reply_audio).max() > 0.05  # not silence


def test_continue_keeps_the_conversation_across_runs(aiwebcam_cmd):
    first = run(aiwebcam_cmd, "ask", "--text", "Remember the word banana. Reply OK.", "--json")
    assert first.returncode == 0, first.stderr
    conv_id = json.loads(first.stdout.splitlines()[-1])["conversation_id"]
    second = run(aiwebcam_cmd, "ask", "--text", "Which word did I ask you to remember?", "--continue", "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1])["conversation_id"] == conv_id
    listing = run(aiwebcam_cmd, "history", "--json")
    assert json.loads(listing.stdout)[0]["turns"] == 2
    shown = run(aiwebcam_cmd, "history", conv_id)
    assert "You: Remember the word banana. Reply OK." in shown.stdout


def _assert_one_line_error(result, *fragments):
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("aiwebcam: error:"), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_bad_audio_input_is_one_clear_line(aiwebcam_cmd, tmp_path):
    _assert_one_line_error(run(aiwebcam_cmd, "ask", str(tmp_path / "missing.wav")), "not found")
    text_file = tmp_path / "notes.wav"
    text_file.write_text("this is not audio at all\n" * 20)
    _assert_one_line_error(run(aiwebcam_cmd, "ask", str(text_file)), "not a readable audio file")
    silent = tmp_path / "silent.wav"
    write_wav(silent, np.zeros(16000 * 2, dtype=np.float32), 16000)
    _assert_one_line_error(run(aiwebcam_cmd, "ask", str(silent)), "no speech detected")
    _assert_one_line_error(run(aiwebcam_cmd, "ask", "--text", "hi", "--image", str(text_file)), "not a readable image")
    _assert_one_line_error(run(aiwebcam_cmd, "ask"), "give an audio file")


def test_missing_embedded_model_is_one_clear_line(aiwebcam_cmd):
    result = run(aiwebcam_cmd, "ask", "--text", "hi", env_extra={"AIWEBCAM_LLM_MODEL": "/nowhere/model.gguf"})
    _assert_one_line_error(result, "not found", "qwen2.5-coder-1.5b")


@pytest.mark.slow
def test_default_qwen_model_answers_offline(aiwebcam_cmd):
    prefix = ("unshare", "-n") if can_cut_network() else ()
    env = {"AIWEBCAM_LLM_MODEL": "", "AIWEBCAM_LLM_MAX_TOKENS": "120"}
    result = run(aiwebcam_cmd, "ask", str(piper_wav("What is the capital of Italy?")), "--json", env_extra=env, prefix=prefix)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.splitlines()[-1])
    assert "qwen2.5-coder-1.5b" in data["backends"]["llm"]
    assert "rome" in data["reply"].lower()
    assert data["audio_seconds"] > 0.5


QWEN = {"AIWEBCAM_LLM_MODEL": "qwen2.5-coder-1.5b", "AIWEBCAM_LLM_MAX_TOKENS": "120", "AIWEBCAM_LLM_TEMPERATURE": "0"}


def test_ask_reads_the_text_on_a_screenshot_offline(aiwebcam_cmd, tmp_path):
    """A spoken question about a screenshot; the text-only default model gets its text (OCR)."""
    from tests.pictures import ERROR_CODE, error_screen, save_png

    shot = save_png(error_screen(), tmp_path / "screen.png")
    prefix = ("unshare", "-n") if can_cut_network() else ()
    question = piper_wav("What is the error number on my screen?")  # tiny.en on AMD hears "error code" as "air code", and the model then "cannot see the air code"
    result = run(aiwebcam_cmd, "ask", str(question), "--image", str(shot), "--json", env_extra=QWEN, prefix=prefix)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert word_error_rate("what is the error number on my screen", data["transcript"]) <= 0.3, data["transcript"]
    assert ERROR_CODE in data["reply"].replace(",", ""), data["reply"]
    assert data["metrics"]["view_wait_ms"] is not None


def test_ask_about_a_picture_without_text_says_it_cannot_see_it(aiwebcam_cmd, tmp_path):
    from tests.pictures import CANNOT_SEE, picture_without_text, save_png

    picture = save_png(picture_without_text(), tmp_path / "picture.png")
    replies = []
    for question in ("What is in this picture?", "Describe what you see."):
        result = run(aiwebcam_cmd, "ask", "--text", question, "--image", str(picture), "--json", env_extra=QWEN)
        assert result.returncode == 0, result.stderr
        replies.append(json.loads(result.stdout.strip().splitlines()[-1])["reply"])
    assert any(CANNOT_SEE.search(r) for r in replies), replies
    assert not any(w in r.lower() for r in replies for w in ("yellow", "circle")), replies
