"""How a command-line run is stopped: Ctrl-C, SIGTERM (a scheduler's or `kill`'s stop) and SIGHUP (the terminal
closed) all set the run's `TrainControl`, so the trainer checkpoints and ends the run `stopped` (resumable); a
second signal aborts at once. The command then exits 128 + the signal's number (130, 143, 129), as shells
expect of a process a signal stopped. Shared by `train`, `resume` and `finetune`. A rank that `--nproc` started
also stops so when the command that launched it is killed outright (`jobs.parent_watch`)."""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from workbench.cli.output import stderr
from workbench.core.training_types import TrainControl
from workbench.jobs.parent_watch import launcher_pid, stop_when_parent_dies

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@dataclass
class StopRequest:
    control: TrainControl = field(default_factory=TrainControl)
    signum: int | None = None  # the signal that stopped the run, if one did

    def exit_code(self, ok: bool) -> int:
        """128 + the stopping signal's number; else 0 when the run ended well (`ok`), 1 when it did not."""
        if self.signum is not None:
            return 128 + self.signum
        return 0 if ok else 1


@contextmanager
def stop_on_signals(grace_s: float = 0.0) -> Iterator[StopRequest]:
    """First Ctrl-C, SIGTERM or SIGHUP: checkpoint and stop cleanly (status `stopped`); a second one aborts,
    unless it comes within `grace_s` seconds of the first: a rank of torchrun may get one stop twice, from a
    scheduler signalling every process of a job and from torchrun passing its own on."""
    request = StopRequest()
    first: list[float] = []

    def request_stop(signum: int, frame: object) -> None:
        if request.control.stopped.is_set():
            if time.monotonic() - first[0] < grace_s:
                return
            raise KeyboardInterrupt
        first.append(time.monotonic())
        request.signum = signum
        stderr.print(f"{signal.Signals(signum).name}: stopping after this step (again to abort)...")
        request.control.stop()

    previous = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
    try:
        with stop_when_parent_dies(request.control, launcher_pid()):
            yield request
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
