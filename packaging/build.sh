#!/usr/bin/env bash
# Builds MLM Workbench as a one-folder desktop app with CPU-only torch, then its Linux download:
#   dist/mlm-workbench/                        the app (run dist/mlm-workbench/mlm-workbench)
#   dist/mlm-workbench-VERSION-linux-x86_64.tar.gz    that folder with a .desktop entry and install.sh
#   dist/MLM_Workbench-VERSION-x86_64.AppImage        the same folder as one file (packaging/linux/make_appimage.sh:
#       appimagetool where installed, else mksquashfs and an AppImage runtime built from source)
# and prints the build's time, the folder's and the archive's size, and what each big part weighs.
#
# The build runs in its own virtual environment (never the one you develop in): $PACK_PYTHON if set (a venv
# with the app, CPU torch and pyinstaller installed), else build/packaging/venv, made here on first use with
# torch $TORCH_VERSION from $TORCH_INDEX (PyTorch's CPU index: PyPI's Linux torch is the multi-GB CUDA build).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TORCH_VERSION="${TORCH_VERSION:-2.13.0}"
TORCH_INDEX="${TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
WORK="$ROOT/build/packaging"
DIST="$ROOT/dist"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ -n "${PACK_PYTHON:-}" ]; then
    PYTHON="$PACK_PYTHON"
else
    PYTHON="$WORK/venv/bin/python"
    if [ ! -x "$PYTHON" ]; then
        python3 -m venv "$WORK/venv"
        "$PYTHON" -m pip install --quiet "torch==$TORCH_VERSION" ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"}
        "$PYTHON" -m pip install --quiet "$ROOT" "pyinstaller>=6.11"
    fi
fi
# A CUDA torch would make a 4-5 GB app: refuse it rather than ship it by accident.
"$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.version.cuda is None else
    f"build.sh: torch {torch.__version__} is a CUDA build; install the CPU wheel (see packaging/README.md)")'
VERSION="$("$PYTHON" -c 'import sys; sys.path.insert(0, "."); from workbench import __version__; print(__version__)')"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --workpath "$WORK/pyinstaller" --distpath "$DIST" packaging/mlm-workbench.spec
APP="$DIST/mlm-workbench"
cp packaging/linux/mlm-workbench.desktop packaging/linux/install.sh "$APP/"
frozen=$(date +%s)

TARBALL="$DIST/mlm-workbench-$VERSION-linux-x86_64.tar.gz"
tar -C "$DIST" -cf - mlm-workbench | gzip -6 > "$TARBALL"
packed=$(date +%s)

APPIMAGE="$DIST/MLM_Workbench-$VERSION-x86_64.AppImage"
status=0
packaging/linux/make_appimage.sh "$APP" "$APPIMAGE" || status=$?
if [ "$status" = 3 ]; then  # it cannot be made here, and said why
    echo "The tar.gz is the Linux download (packaging/README.md says what the AppImage needs)."
elif [ "$status" != 0 ]; then
    exit "$status"
fi
done_at=$(date +%s)

{   # also kept next to the build, where smoke.sh prints it
    echo "build time: $((frozen - start)) s PyInstaller, $((packed - frozen)) s tar.gz, $((done_at - packed)) s" \
         "AppImage," \
         "$((done_at - start)) s in all, on $(nproc) cores, $(date -u +%F)"
    echo "folder: $(du -sm "$APP" | cut -f1) MB  ($APP)"
    for archive in "$TARBALL" "$APPIMAGE"; do
        if [ -f "$archive" ]; then echo "archive: $(du -m "$archive" | cut -f1) MB  ($archive)"; fi
    done
    echo
    "$PYTHON" packaging/weigh.py "$APP"
} | tee "$DIST/build-report.txt"
