"""Background work without touching widgets: a `Task` runs a plain function in a QThread and reports through
signals that carry plain data; the `TaskRunner` (on the GUI thread) owns the threads and cleans them up.
A `ProcessTask` runs its function in a child process instead (pretraining: see `workbench.jobs.background`
for why) and its QThread only relays the child's messages as the same signals.

Clean-up follows shared/QT-NOTES.md: `finished.connect(deleteLater)` segfaulted in tests, while quit() + wait()
on the GUI thread and then dropping the references held, so that is what `_on_done` does.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import traceback
from typing import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.core.training_types import TrainControl
from workbench.jobs.background import ChildTask, child_main
from workbench.jobs.errors import BUG_DETAILS, expected, one_line

log = logging.getLogger(__name__)

CLOSE_GRACE_MS = 120_000  # a run stopping on close saves its checkpoint: seconds, even for base on a slow disk
KILLED_WAIT_MS = 10_000  # the relay notices a killed child within ProcessTask.POLL_S
_LEFT_RUNNING: list[tuple[Task, QThread]] = []


class Task(QObject):
    """`fn(task)` runs on a worker thread; it reports with `task.report(...)` / `task.event.emit(...)` and
    honours `task.control` (pause / resume / stop, checked by the trainer every step). `ask_before_closing`
    marks work the user started and would lose by closing the window (training, not a preview)."""

    progress = Signal(str, int, object)  # stage, done, total (None when unknown)
    event = Signal(object)  # training events (frozen dataclasses)
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str, str)  # one-line message, details (traceback)
    done = Signal()  # after succeeded or failed, always

    def __init__(self, name: str, fn: Callable[["Task"], object], ask_before_closing: bool = False) -> None:
        super().__init__()
        self.name = name
        self.ask_before_closing = ask_before_closing
        self.control = TrainControl()
        self._fn = fn

    def report(self, stage: str, done: int, total: int | None = None) -> None:
        self.progress.emit(stage, done, total)

    @property
    def cancelled(self) -> bool:
        return self.control.stopped.is_set()

    def cancel(self) -> None:
        self.control.stop()

    @Slot()
    def run(self) -> None:
        try:
            result = self._call()
        except TaskFailed as error:  # already put in words, with its own details
            log.error("task %s failed: %s\n%s", self.name, error.message, error.details)
            self.failed.emit(error.message, error.details)
        except Exception as error:  # shown to the user; the window stays usable
            log.exception("task %s failed", self.name)
            self.failed.emit(one_line(error), "" if expected(error) else BUG_DETAILS + traceback.format_exc())
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()

    def _call(self) -> object:
        # subclasses change how the function runs here, not in `run`: PySide6 calls a subclass' override of a
        # slot on the GUI thread (measured), so `run` stays the one slot
        return self._fn(self)


class TaskFailed(Exception):
    """A failure that arrives as a message and details (from a child process), not as a local exception."""

    def __init__(self, message: str, details: str) -> None:
        super().__init__(message)
        self.message, self.details = message, details


class ProcessTask(Task):
    """`fn(task)` runs in a spawned child process with a `ChildTask`; `fn` must pickle (a module-level function,
    or a functools.partial of one). `control` is shared with the child, so pause / resume / stop work as for
    a Task. A child that dies without a word (killed, out of memory, a crash in native code) fails the task."""

    POLL_S = 0.2  # how often the relay looks whether a silent child is still alive

    def __init__(self, name: str, fn: Callable[[ChildTask], object], ask_before_closing: bool = True) -> None:
        super().__init__(name, fn, ask_before_closing)
        self._context = multiprocessing.get_context("spawn")  # fork is unsafe in a process running Qt threads
        self.control = TrainControl(self._context)
        self._child: multiprocessing.Process | None = None

    def _call(self) -> object:
        messages = self._context.Queue()
        child = self._context.Process(target=child_main, args=(self._fn, messages, self.control),
                                      name=f"mlm-workbench {self.name}", daemon=True)
        self._child = child
        child.start()
        try:
            return self._relay(messages, child)
        finally:
            child.join()

    def kill(self) -> None:
        """The last resort of a closing window: end a child that did not stop when asked. Its run is left as a
        killed run is (resumable from its last checkpoint); the relay reports the child's end as a failure."""
        if self._child is not None and self._child.is_alive():
            log.error("the %s process (pid %s) did not stop when asked: killing it", self.name, self._child.pid)
            self._child.kill()

    def _relay(self, messages: multiprocessing.Queue, child: multiprocessing.Process) -> object:
        """Re-emit the child's events and progress until its value (returned) or its failure (raised)."""
        while True:
            try:
                kind, *payload = messages.get(timeout=self.POLL_S)
            except queue.Empty:
                if child.is_alive():
                    continue
                try:  # it may have ended right after its last message
                    kind, *payload = messages.get(timeout=self.POLL_S)
                except queue.Empty:
                    raise TaskFailed(f"the {self.name} process ended unexpectedly (exit code {child.exitcode})",
                                     "") from None
            if kind == "event":
                self.event.emit(payload[0])
            elif kind == "progress":
                self.progress.emit(*payload)
            elif kind == "succeeded":
                return payload[0]
            else:
                raise TaskFailed(*payload)


class TaskRunner(QObject):
    """Starts tasks on their own threads and keeps track of what is running (for the status bar and exit)."""

    activity_changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._threads: dict[Task, QThread] = {}
        self._closed = False  # after shutdown nothing starts: a late timer must not outlive the window

    def start(self, task: Task) -> Task:
        if self._closed:
            return task
        thread = QThread()
        thread.setObjectName(f"task:{task.name}")
        task.moveToThread(thread)
        thread.started.connect(task.run)
        task.done.connect(self._on_done)  # queued: runs on the GUI thread
        self._threads[task] = thread
        thread.start()
        self.activity_changed.emit(self.activity())
        return task

    @Slot()
    def _on_done(self) -> None:
        task = self.sender()
        thread = self._threads.pop(task, None)
        if thread is not None:
            thread.quit()
            thread.wait()
        self.activity_changed.emit(self.activity())

    def running(self) -> list[Task]:
        return list(self._threads)

    def activity(self) -> str:
        names = [task.name for task in self._threads]
        return ", ".join(names) if names else "idle"

    def shutdown(self, grace_ms: int = CLOSE_GRACE_MS) -> None:
        """Stop every task (a training run checkpoints first) and wait for the threads, `grace_ms` at most before
        a child process that has not stopped is killed: closing the window must end."""
        self._closed = True
        for task in self._threads:  # all asked at once: they stop side by side
            task.cancel()
            task.control.resume()
        for task, thread in list(self._threads.items()):
            thread.quit()
            if not thread.wait(grace_ms) and isinstance(task, ProcessTask):
                task.kill()
                thread.wait(KILLED_WAIT_MS)
            if thread.isRunning():  # a computation on this thread that ignores cancel: it ends with the process
                log.error("task %s did not end within %d ms of closing", task.name, grace_ms)
                _LEFT_RUNNING.append((task, thread))  # a QThread destroyed while it runs aborts the process
        self._threads.clear()
