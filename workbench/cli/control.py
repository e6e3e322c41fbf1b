"""How a command-line run is stopped: a `TrainControl` that the first Ctrl-C sets, shared by `train`, `resume`
and `finetune`."""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

from workbench.cli.output import stderr
from workbench.core.training_types import TrainControl


@contextmanager
def stop_on_ctrl_c() -> Iterator[TrainControl]:
    """First Ctrl-C: checkpoint and stop cleanly (status `stopped`); a second one aborts at once."""
    control = TrainControl()

    def request_stop(signum: int, frame: object) -> None:
        if control.stopped.is_set():
            raise KeyboardInterrupt
        stderr.print("stopping after this step (Ctrl-C again to abort)...")
        control.stop()

    previous = signal.signal(signal.SIGINT, request_stop)
    try:
        yield control
    finally:
        signal.signal(signal.SIGINT, previous)
