#!/usr/bin/env bash
# Makes the AppImage of a built app folder:  packaging/linux/make_appimage.sh APP_FOLDER OUT.AppImage
# With appimagetool on PATH (or $APPIMAGETOOL) it is used; else this does what appimagetool does: the AppDir as
# a squashfs image (appimagetool's mksquashfs options) after the AppImage type 2 runtime, with the runtime's
# digest section filled (packaging/appimage.py). The runtime is $APPIMAGE_RUNTIME, else the one
# packaging/linux/build_runtime.sh builds from source on first use. Exits 3, saying why, when neither way
# can run here (no mksquashfs, or the runtime cannot be built): the tar.gz is then the Linux download.
set -euo pipefail
APP="$(readlink -f "$1")"
OUT="$(readlink -m "$2")"
cd "$(dirname "$0")/../.."
RUNTIME="${APPIMAGE_RUNTIME:-$PWD/build/packaging/runtime/runtime-x86_64}"
APPIMAGETOOL="${APPIMAGETOOL:-$(command -v appimagetool || true)}"
WORK="$(mktemp -d "$(dirname "$APP")/.appimage.XXXXXX")"  # beside the app folder: hard links need one disk
trap 'rm -rf "$WORK"' EXIT
APPDIR="$WORK/MLM_Workbench.AppDir"

rm -f "$OUT" && mkdir -p "$APPDIR"
cp -al "$APP" "$APPDIR/mlm-workbench"  # hard links: no second copy of an 800 MB folder
cp packaging/linux/AppRun packaging/linux/mlm-workbench.desktop "$APPDIR/"
cp resources/icons/mlm-workbench-256.png "$APPDIR/mlm-workbench.png"
cp resources/icons/mlm-workbench-256.png "$APPDIR/.DirIcon"

# appimagetool validates the launcher and refuses an AppImage whose .desktop entry has errors; so does this
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$APPDIR/mlm-workbench.desktop"
else
    echo "(desktop-file-validate, from desktop-file-utils, is not installed: the .desktop entry is not checked)"
fi
if [ -n "$APPIMAGETOOL" ]; then
    ARCH=x86_64 "$APPIMAGETOOL" --no-appstream "$APPDIR" "$OUT"
    exit 0
fi
if ! command -v mksquashfs >/dev/null; then
    echo "No AppImage: neither appimagetool nor mksquashfs (Debian: squashfs-tools) is installed." >&2
    exit 3
fi
if [ ! -f "$RUNTIME" ] && ! packaging/linux/build_runtime.sh "$RUNTIME"; then
    echo "No AppImage: the AppImage runtime could not be built (see packaging/linux/build_runtime.sh for what" \
         "it needs)." >&2
    exit 3
fi
mksquashfs "$APPDIR" "$WORK/app.squashfs" -root-owned -noappend -comp zstd -b 128K -mkfs-time 0 \
    -quiet -no-progress
python3 packaging/appimage.py "$RUNTIME" "$WORK/app.squashfs" "$OUT"
