#!/usr/bin/env bash
# dist/AI Webcam.app (PyInstaller BUNDLE) -> dist/aiwebcam-<version>-macos-<arch>.dmg
# Run on macOS after the PyInstaller build. Not yet run (see packaging/README.md).
# Signing and notarization are optional: set AIWEBCAM_CODESIGN_IDENTITY (e.g. "Developer ID
# Application: ...") before the build; then notarize the .dmg with `xcrun notarytool`.
set -euo pipefail
cd "$(dirname "$0")/../.."

app="dist/AI Webcam.app"
[[ -d "$app" ]] || { echo "make_dmg: $app not found; build with packaging/aiwebcam.spec first" >&2; exit 1; }
version=$(/usr/libexec/PlistBuddy -c "Print CFBundleShortVersionString" "$app/Contents/Info.plist")
dmg="dist/aiwebcam-$version-macos-$(uname -m).dmg"

# Camera and microphone prompts need these strings; fail early if the spec lost them.
for key in NSCameraUsageDescription NSMicrophoneUsageDescription; do
    /usr/libexec/PlistBuddy -c "Print $key" "$app/Contents/Info.plist" >/dev/null
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
# UDZO (zlib) is readable on every macOS; the models inside hardly compress anyway.
hdiutil create -volname "AI Webcam" -srcfolder "$stage" -fs HFS+ -format UDZO -imagekey zlib-level=1 -ov "$dmg"
if [[ -n "${AIWEBCAM_CODESIGN_IDENTITY:-}" ]]; then
    codesign --sign "$AIWEBCAM_CODESIGN_IDENTITY" --timestamp "$dmg"
fi
echo "make_dmg: $dmg ($(du -h "$dmg" | cut -f1))"
