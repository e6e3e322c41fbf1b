"""Background work without touching widgets: a `Task` runs a plain function in a QThread and reports through
signals that carry plain data; the `TaskRunner` (on the GUI thread) owns the threads and cleans them up.

Clean-up follows shared/QT-NOTES.md: `finished.connect(deleteLater)` segfaulted in tests, while quit() + wait()
on the GUI thread and then dropping the references held, so that is what `_on_done` does.
"""

from __future__ import annotations

import logging
import traceback
from typing import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from workbench.core.training_types import TrainControl

log = logging.getLogger(__name__)


class Task(QObject):
    """`fn(task)` runs on a worker thread; it reports with `task.report(...)` / `task.event.emit(...)` and
    honours `task.control` (pause / resume / stop, checked by the trainer every step)."""

    progress = Signal(str, int, object)  # stage, done, total (None when unknown)
    event = Signal(object)  # training events (frozen dataclasses)
    succeeded = Signal(object)  # the function's return value
    failed = Signal(str, str)  # one-line message, details (traceback)
    done = Signal()  # after succeeded or failed, always

    def __init__(self, name: str, fn: Callable[["Task"], object]) -> None:
        super().__init__()
        self.name = name
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
            result = self._fn(self)
        except Exception as error:  # shown to the user; the window stays usable
            log.exception("task %s failed", self.name)
            message = " ".join(str(error).split()) or type(error).__name__
            self.failed.emit(message, traceback.format_exc())
        else:
            self.succeeded.emit(result)
        finally:
            self.done.emit()


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

    def shutdown(self) -> None:
        """Stop every task (a training run checkpoints first) and wait for the threads."""
        self._closed = True
        for task, thread in list(self._threads.items()):
            task.cancel()
            task.control.resume()
            thread.quit()
            thread.wait()
        self._threads.clear()
