"""Real processes for the kill tests: the CLI (or a script) started on a home copy, waited on through the
database, and killed with SIGKILL, as a crash, the OOM killer or `kill -9` would."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start(home: Path, *args: str) -> subprocess.Popen:
    """`mlm-workbench --home HOME ARGS...` in a process of its own."""
    return start_script("from workbench.cli.main import main; import sys; sys.exit(main(sys.argv[1:]))",
                        "--home", str(home), *args)


def start_script(code: str, *args: str) -> subprocess.Popen:
    """`python -c CODE ARGS...`; stdout is a pipe, stderr a file (`errors(process)`): a pipe no one reads fills
    up, and a training child that inherits it would block writing its log to it."""
    log = tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, env=ENV, stdout=subprocess.PIPE,
                               stderr=log, text=True)
    process.log = log  # type: ignore[attr-defined]
    return process


def errors(process: subprocess.Popen) -> str:
    """What `process` wrote to stderr so far."""
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()  # type: ignore[attr-defined]


def kill(process: subprocess.Popen) -> float:
    """SIGKILL `process`, reap it, and return the time of the kill (monotonic)."""
    process.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    process.communicate(timeout=30)
    return killed_at


def wait_for(check: Callable[[], object], timeout_s: float, what: str, process: subprocess.Popen | None = None):
    """Poll `check` until it returns something true (returned); fail after `timeout_s`, or at once if `process`
    ended meanwhile (its output in the message)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if process is not None and process.poll() is not None:
            out, _ = process.communicate()
            raise AssertionError(f"the process ended ({process.returncode}) before {what}:\n{out}\n{errors(process)}")
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def run_row(home: Path, name: str) -> dict | None:
    """The run's row as stored (not as shown), or None."""
    with sqlite3.connect(home / "workbench.db", timeout=10) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM runs WHERE name = ?", (name,)).fetchone()
    return None if row is None else dict(row)


def newest_checkpoint(home: Path, run_id: int) -> int:
    with sqlite3.connect(home / "workbench.db", timeout=10) as db:
        return db.execute("SELECT max(step) FROM checkpoints WHERE run_id = ?", (run_id,)).fetchone()[0] or 0


def metric_rows(home: Path, run_id: int, key: str = "train_loss") -> list[tuple[int, float]]:
    with sqlite3.connect(home / "workbench.db", timeout=10) as db:
        return db.execute("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, id",
                          (run_id, key)).fetchall()
