"""The architecture's rule, checked: dependencies point inward (see docs/architecture.md).

The contracts live in pyproject.toml ([tool.importlinter]); import-linter reads every
import of the package, direct or indirect, including those inside functions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    exe = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(exe), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "4 kept, 0 broken" in done.stdout, done.stdout[-2000:]


def test_the_engine_loads_no_model_or_face_library():
    """Importing the engine (with speech recognition on an endpoint, say) loads none of them."""
    code = (
        "import sys, desktop_app.core.engine, desktop_app.core.capture, desktop_app.core.hands_free; "
        "heavy = ('faster_whisper', 'ctranslate2', 'llama_cpp', 'piper', 'onnxruntime', 'av', 'PySide6', 'aiohttp', 'aiortc', 'PIL'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & set(heavy)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout
