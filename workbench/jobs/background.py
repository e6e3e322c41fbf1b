"""Pretraining and fine-tuning in a child process, for the desktop window: the child's side and the message
protocol.

Why a process (issue 3): in a thread, the training loop's Python between kernels shares the GIL with the
window's plot drawing, and the GUI thread's few percent of busy time cost training about 10% on two cores
(bench/gui_heartbeat.py; the convoy effect: every kernel's return waits for the GUI to drop the GIL). In a
child process the two never wait on each other, and a crash or an out-of-memory kill of the training ends
that run only; the window stays up. What it costs: a spawned interpreter imports torch again (about 2 s
before the first step).

The child runs `fn(task)` with a `ChildTask` that looks like the GUI's `Task` to a job: `task.event.emit`,
`task.report` and `task.control` (a `TrainControl` on multiprocessing Events shared with the parent). Every
message is a tuple on one queue: ("event", event), ("progress", stage, done, total), then exactly one of
("succeeded", value) or ("failed", message, details). A child that dies sends neither; the parent notices.
"""

from __future__ import annotations

import os
import signal
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from workbench.core.training_types import TrainControl, TrainResult
from workbench.jobs.errors import BUG_DETAILS, expected, one_line
from workbench.jobs.parent_watch import stop_when_parent_dies
from workbench.jobs.workspace import in_workspace


if TYPE_CHECKING:  # pretrain imports torch; the window imports this module before torch loads
    from workbench.core.finetune.trainer import FinetuneResult
    from workbench.jobs.finetune import FinetuneSpec
    from workbench.jobs.own_text import OwnTextPlan
    from workbench.jobs.pretrain import PretrainSpec

    Arms = dict[str, tuple[int, FinetuneResult]]  # what the Fine-tune panel's jobs return


class _Emitter:
    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def emit(self, event: object) -> None:
        self._queue.put(("event", event))


class ChildTask:
    """What a job sees of its task inside the child process."""

    def __init__(self, queue: Any, control: TrainControl) -> None:
        self._queue = queue
        self.event = _Emitter(queue)
        self.control = control

    def report(self, stage: str, done: int, total: int | None = None) -> None:
        self._queue.put(("progress", stage, done, total))


def child_main(fn: Callable[[ChildTask], object], queue: Any, control: TrainControl) -> None:
    """The child process' entry point: run `fn`, send its value or its error, then let the queue drain. A child
    whose window is killed stops its run (checkpoint, `stopped`) and exits instead of training on alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in the app's terminal is the parent's to handle
    with stop_when_parent_dies(control, os.getppid()) as watch:
        try:
            value = fn(ChildTask(queue, control))
        except Exception as error:  # sent to the window, which shows it; the run's status is already recorded
            queue.put(("failed", one_line(error), "" if expected(error) else BUG_DETAILS + traceback.format_exc()))
        else:
            queue.put(("succeeded", value))
    queue.close()
    if watch is not None and watch.orphaned:
        queue.cancel_join_thread()  # no one reads the queue now: exiting must not wait on its full pipe
    else:
        queue.join_thread()  # every message is written before the process exits


def training_threads(threads: int | None = None) -> int:
    """The torch threads of the window's training process: `threads` when the user chose, else all cores but one.
    The core left over is the window's: on 2 cores, two training threads beside the GUI ran at 2-54 steps/s
    against a steady ~28 with one (docs/performance.md, "Threads of the window's training process"); on a
    workstation a fixed one thread would waste most of the machine."""
    return threads or max(1, (os.cpu_count() or 1) - 1)


def train_new(home: Path, spec: PretrainSpec, task: ChildTask, threads: int | None = None) -> tuple[int, TrainResult]:
    """Start the pretraining run `spec` in the workspace at `home` on `threads` CPU threads: (run id, result)."""
    from workbench.jobs.pretrain import start_pretraining

    _limit_threads(threads)
    run, result = in_workspace(home, start_pretraining, spec, listeners=[task.event.emit], control=task.control,
                               progress=task.report)
    return run.id, result


def train_own_text_new(home: Path, text: str, plan: OwnTextPlan, task: ChildTask,
                       threads: int | None = None) -> tuple[int, TrainResult]:
    """"Train on your own text": record `text` as the plan's corpus, then train the plan's tokenizer and run on
    `threads` CPU threads: (run id, result)."""
    from workbench.jobs.own_text import add_own_text, train_own_text

    _limit_threads(threads)

    def record_and_train(ws):
        task.report("reading your text", 0, None)
        corpus = add_own_text(ws, plan.spec.corpus, text=text)
        return train_own_text(ws, corpus, plan, listeners=[task.event.emit], control=task.control,
                              progress=task.report)

    run, result = in_workspace(home, record_and_train)
    return run.id, result


def train_resume(home: Path, run_id: int, task: ChildTask, threads: int | None = None) -> tuple[int, TrainResult]:
    """Continue run `run_id` from its last checkpoint on `threads` CPU threads: (run id, result)."""
    from workbench.jobs.pretrain import resume_pretraining

    _limit_threads(threads)
    run, result = in_workspace(home, resume_pretraining, run_id, listeners=[task.event.emit], control=task.control,
                               progress=task.report)
    return run.id, result


def train_on_processes(home: Path, arguments: list[str], nproc: int, task: ChildTask) -> tuple[int, TrainResult]:
    """`mlm-workbench <arguments> --nproc N` (`train …` or `resume RUN`) under torchrun, supervised as a
    one-process run is (`workbench.jobs.supervised`): rank 0's events arrive, Pause and Stop reach every rank."""
    from workbench.jobs.supervised import run_supervised

    return run_supervised(home, arguments, nproc, task.event.emit, task.control)


def finetune_new(home: Path, spec: FinetuneSpec, with_baseline: bool, task: ChildTask) -> Arms:
    """Fine-tune `spec`, then its scratch baseline when asked: {arm: (run id, result)}; events as (arm, event)."""
    from workbench.jobs.baseline import run_with_baseline

    _limit_threads()
    return in_workspace(home, run_with_baseline, spec, with_baseline, task.event.emit, task.control)


def finetune_resume(home: Path, run_id: int, task: ChildTask) -> Arms:
    """Continue the fine-tuning run `run_id` from its checkpoint: {"finetune": (run id, result)}."""
    from workbench.jobs.baseline import resume_arm

    _limit_threads()
    return in_workspace(home, resume_arm, run_id, task.event.emit, task.control)


def _limit_threads(threads: int | None = None) -> None:
    import torch

    torch.set_num_threads(training_threads(threads))
