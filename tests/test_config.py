import json
import os
import stat
import subprocess

from desktop_app.config import AppPaths, Secret, Settings, load_settings, save_settings


def test_env_overrides_file_and_defaults(tmp_path):
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    save_settings(Settings(asr_model="base", llm_max_tokens=100), paths)
    env = {"AIWEBCAM_LLM_MAX_TOKENS": "64", "AIWEBCAM_LLM_VISION": "on"}
    settings = load_settings(paths, env)
    assert settings.asr_model == "base"  # from the file
    assert settings.llm_max_tokens == 64  # env wins
    assert settings.llm_vision is True
    assert settings.resolved_llm_provider() == "embedded"
    assert settings.resolved_llm_model() == "qwen2.5-coder-1.5b"


def test_openai_key_selects_openai_and_is_never_shown(tmp_path):
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "k")
    settings = load_settings(paths, {"OPENAI_API_KEY": "sk-test-secret-123456"})
    assert settings.resolved_llm_provider() == "openai"
    assert settings.resolved_vision() is True  # gpt-4o-mini sees
    assert "sk-test" not in repr(settings) and "sk-test" not in str(settings.redacted())
    assert repr(Secret("abc")) == "Secret('***')"
    path = save_settings(settings, paths)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # may hold a key: user-only
    assert json.loads(path.read_text())["llm_api_key"] == "sk-test-secret-123456"


def test_settings_command_hides_the_key(aiwebcam_cmd):
    env = {**os.environ, "OPENAI_API_KEY": "sk-very-secret-key-987"}
    out = subprocess.run([*aiwebcam_cmd, "settings"], env=env, capture_output=True, text=True, check=True)
    assert "sk-very-secret" not in out.stdout + out.stderr
    assert json.loads(out.stdout)["llm_api_key"] == "***"


def test_bad_settings_file_is_one_clear_line(aiwebcam_cmd, isolated_dirs):
    config = isolated_dirs / "config"
    config.mkdir()
    (config / "settings.json").write_text('{"llm_max_tokens": "many"}')
    out = subprocess.run([*aiwebcam_cmd, "settings"], capture_output=True, text=True)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines() == ["aiwebcam: error: setting 'llm_max_tokens' has an invalid value"]
