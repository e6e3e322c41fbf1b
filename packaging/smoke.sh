#!/usr/bin/env bash
# The packaged app's end-to-end check (slow: minutes), kept out of the normal test run; CI runs it only when
# MLMWB_PACKAGING=1 (.ci/run). Builds first when dist/ has no app (packaging/build.sh), prints the build's time
# and sizes, then runs packaging/smoke.py on the frozen folder, and again on the AppImage when the build made
# one (its --version, then the whole check on the tree it unpacks): see that file for what must hold.
set -euo pipefail
cd "$(dirname "$0")/.."
APP="${1:-dist/mlm-workbench/mlm-workbench}"
if [ ! -x "$APP" ]; then
    bash packaging/build.sh
fi
if [ -f dist/build-report.txt ]; then
    cat dist/build-report.txt
    echo
fi
status=0  # both are checked, whichever fails
python3 packaging/smoke.py "$APP" || status=1
for appimage in dist/MLM_Workbench-*-x86_64.AppImage; do
    if [ -f "$appimage" ]; then
        echo
        python3 packaging/smoke.py --appimage "$appimage" || status=1
    fi
done
exit "$status"
