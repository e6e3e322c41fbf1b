"""A run on several processes that the window supervises as it does a one-process run.

The window's training child (jobs/background.py) starts the command line, `python -m workbench --home H train …
--nproc N`, which starts torchrun, and relays between the two sides through two files in a private folder that
the environment names:
- rank 0 appends every training event, then the run's result, to an event log (JSON lines, `EVENTS_ENV`); the
  relay reads them back as the same event objects the one-process path emits, so the live curves are rank 0's;
- the window's Pause, Resume and Stop are written to a control file (`CONTROL_ENV`) that rank 0 reads four times a
  second into its `TrainControl`; every rank then pauses or stops at the same step (core/distributed: any
  rank's request counts), and Stop saves a checkpoint as Ctrl-C does.
A rank that dies ends the others (the run is `interrupted`, resumable) and torchrun's summary names it; the
relay adds which process it was to the result's message.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from workbench.core.training_types import CheckpointEvent, EvalEvent, StatusEvent, StepEvent, TrainControl, TrainResult
from workbench.jobs.errors import UserError
from workbench.paths import HOME_ENV

EVENTS_ENV = "MLM_WORKBENCH_EVENTS"
CONTROL_ENV = "MLM_WORKBENCH_CONTROL"
POLL_S = 0.25
_RECORDS = {cls.__name__: cls for cls in (StepEvent, EvalEvent, CheckpointEvent, StatusEvent, TrainResult)}
_RESULT = "result"  # the log's last line: {"type": "result", "run_id": …, "result": {…}}
# a failed process in torchrun's summary: "rank      : 1 (local_rank: 1)" then "exitcode  : -9 (pid: 1234)"
_FAILED_RANK = re.compile(r"rank\s*:\s*(\d+)\s*\(local_rank.*?\)\s*exitcode\s*:\s*(-?\d+)", re.S)


def _encode(record: Any) -> dict:
    fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
    return {"type": type(record).__name__, **{k: str(v) if isinstance(v, Path) else v for k, v in fields.items()}}


def _decode(data: dict) -> Any:
    cls = _RECORDS[data.pop("type")]
    for f in dataclasses.fields(cls):
        value = data.get(f.name)
        if value is not None and "Path" in str(f.type):
            data[f.name] = Path(value)
        elif value is not None and str(f.type).startswith("tuple"):
            data[f.name] = tuple(value)
    return cls(**data)


class EventLog:
    """Rank 0's side of the event log: `write` is a training listener; `finish` records the result."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, data: dict) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(data) + "\n")  # one write per line: the reader never sees half a record

    def write(self, event: object) -> None:
        if type(event).__name__ in _RECORDS:
            self._append(_encode(event))

    def finish(self, run_id: int, result: TrainResult) -> None:
        self._append({"type": _RESULT, "run_id": run_id, "result": _encode(result)})


def read_events(path: Path, offset: int) -> tuple[list[Any], tuple[int, TrainResult] | None, int]:
    """The events appended to the log at `path` since byte `offset`, the (run id, result) if it has arrived, and
    the offset to read from next (a line still being written waits for the next call)."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            chunk = log.read()
    except FileNotFoundError:
        return [], None, offset
    complete = chunk[:chunk.rfind(b"\n") + 1]
    events, result = [], None
    for line in complete.decode("utf-8").splitlines():
        data = json.loads(line)
        if data["type"] == _RESULT:
            result = (data["run_id"], _decode(data["result"]))
        else:
            events.append(_decode(data))
    return events, result, offset + len(complete)


def _follow_control_file(path: Path, control: TrainControl, done: threading.Event) -> None:
    applied = "run"
    while not done.wait(POLL_S):
        try:
            wanted = path.read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if wanted == applied:
            continue
        applied = wanted
        if wanted == "stop":
            control.stop()
        elif wanted == "pause":
            control.pause()
        elif wanted == "run":
            control.resume()


@contextmanager
def supervision(control: TrainControl) -> Iterator[EventLog | None]:
    """In rank 0 of a run the window supervises (the environment names the files): the event log, with the
    control file followed into `control` meanwhile; elsewhere None."""
    events, commands = os.environ.get(EVENTS_ENV), os.environ.get(CONTROL_ENV)
    if not events or not commands:
        yield None
        return
    done = threading.Event()
    follower = threading.Thread(target=_follow_control_file, args=(Path(commands), control, done), daemon=True,
                                name="control-file")
    follower.start()
    try:
        yield EventLog(Path(events))
    finally:
        done.set()
        follower.join()


def _wanted(control: TrainControl) -> str:
    return "stop" if control.stopped.is_set() else "pause" if control.paused.is_set() else "run"


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(".part")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def _failure(output: str, code: int) -> str:
    """One line for a command that ended without a result: its own error line, else torchrun's failed rank."""
    errors = [line for line in output.splitlines() if line.startswith("mlm-workbench: error: ")]
    if errors:
        return errors[-1].removeprefix("mlm-workbench: error: ")
    return _failed_rank(output) or f"the training processes ended with exit code {code} before the run started"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal has no name
        return "no name"


def _failed_rank(output: str) -> str:
    """The process torchrun's summary names as the root cause (the first to fail; torchrun then ends the others
    with SIGTERM, and lists them too)."""
    summary = output[output.rfind("Root Cause"):] if "Root Cause" in output else output
    failed = _FAILED_RANK.search(summary)
    if failed is None:
        return ""
    rank, code = int(failed.group(1)), int(failed.group(2))
    if code < 0:
        return f"process {rank} (rank {rank}) was killed by signal {-code} ({_signal_name(-code)})"
    return f"process {rank} (rank {rank}) exited with code {code}"


def run_supervised(home: Path, arguments: list[str], nproc: int, emit: Callable[[object], None],
                   control: TrainControl) -> tuple[int, TrainResult]:
    """Run `mlm-workbench <arguments> --nproc N` in the home `home`, relaying rank 0's events to `emit` and
    `control`'s requests to every rank: (run id, result). A command that fails before its run starts raises a
    `UserError` with its one line."""
    folder = Path(tempfile.mkdtemp(prefix="mlmwb-supervised-"))
    events, commands, output = folder / "events.jsonl", folder / "control", folder / "output.txt"
    _write_atomically(commands, "run")
    env = {**os.environ, HOME_ENV: str(home), EVENTS_ENV: str(events), CONTROL_ENV: str(commands)}
    argv = [sys.executable, "-m", "workbench", *arguments, "--nproc", str(nproc)]
    child = None
    try:
        with output.open("w", encoding="utf-8") as sink:
            child = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            result, offset, sent = None, 0, "run"
            while True:
                ended = child.poll() is not None  # read once more after the end: the last lines
                batch, finished, offset = read_events(events, offset)
                for event in batch:
                    emit(event)
                result = finished or result
                if ended:
                    break
                if _wanted(control) != sent:
                    sent = _wanted(control)
                    _write_atomically(commands, sent)
                time.sleep(POLL_S)
        text = output.read_text(encoding="utf-8", errors="replace")
        if result is None:
            raise UserError(_failure(text, child.returncode))
        run_id, outcome = result
        lost = _failed_rank(text) if outcome.status == "interrupted" else ""
        if lost:  # in place of the collective's own error text, which names no process
            outcome = dataclasses.replace(outcome, message=f"step {outcome.steps}: {lost}; the other processes "
                                          f"stopped and the run can be resumed from its last checkpoint")
        return run_id, outcome
    finally:
        if child is not None and child.poll() is None:  # the relay itself failed: the ranks must not go on alone
            os.killpg(child.pid, signal.SIGINT)
            child.wait()
        shutil.rmtree(folder, ignore_errors=True)
