#!/usr/bin/env bash
# The packaged app's end-to-end check (slow: minutes), kept out of the normal test run; CI runs it only when
# MLMWB_PACKAGING=1 (.ci/run). Builds first when dist/ has no app (packaging/build.sh), prints the build's time
# and sizes, then runs packaging/smoke.py on the frozen folder: see that file for what must hold.
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
python3 packaging/smoke.py "$APP"
