#!/bin/sh
# Puts MLM Workbench in this user's application menu (no root, nothing outside ~/.local):
# a launcher that starts the app from this folder, and its icon at every size.
# Run it again after moving the folder; `install.sh --remove` takes the launcher and icons away again.
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
ICONS="$HERE/_internal/resources/icons"
SIZES="16 32 48 64 128 256"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$DATA/applications/mlm-workbench.desktop"
    for size in $SIZES; do rm -f "$DATA/icons/hicolor/${size}x${size}/apps/mlm-workbench.png"; done
    echo "MLM Workbench removed from the menu (this folder and your runs are left as they are)."
    exit 0
fi
for size in $SIZES; do
    mkdir -p "$DATA/icons/hicolor/${size}x${size}/apps"
    cp "$ICONS/mlm-workbench-$size.png" "$DATA/icons/hicolor/${size}x${size}/apps/mlm-workbench.png"
done
mkdir -p "$DATA/applications"
# the launcher runs this folder's executable by its full path (quoted: the path may hold spaces)
sed "s|^Exec=mlm-workbench|Exec=\"$HERE/mlm-workbench\"|" "$HERE/mlm-workbench.desktop" \
    > "$DATA/applications/mlm-workbench.desktop"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$DATA/applications" || true
echo "MLM Workbench is in your application menu. Your work is kept in $DATA/mlm-workbench."
