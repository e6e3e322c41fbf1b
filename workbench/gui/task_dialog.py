"""A dialog that runs one job at a time on a worker thread (the "Open a Hugging Face model…" and "Export model…"
dialogs): a busy indicator and a message line beside it, its controls disabled while the job runs, the job's
one-line refusal shown in red, and no closing halfway (an import or an export is over in seconds, and leaving
would hide its result)."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QWidget

from workbench.gui.workers import Task, TaskRunner

ERROR_STYLE = "color: #b00020;"


class TaskDialog(QDialog):
    """`busy` and `message` (laid out by `status_row`); `task` while a job runs. Subclasses enable their
    controls in `_set_enabled` and may act when a job has ended in `_finished`."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.task: Task | None = None
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # the jobs report no progress: a busy indicator
        self.busy.setMaximumWidth(120)
        self.busy.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def status_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(self.busy)
        row.addWidget(self.message, 1)
        return row

    def run_task(self, name: str, fn: Callable[[Task], object], on_success: Callable[[object], None],
                 busy_text: str) -> None:
        """Run `fn` on a worker thread unless a job is running; `on_success` gets its value."""
        if self.task is not None:
            return
        self.task = Task(name, fn)
        self.task.succeeded.connect(on_success)
        self.task.failed.connect(self._on_failed)
        self.task.done.connect(self._on_done)
        self._set_busy(True)
        self.say(busy_text)
        self.runner.start(self.task)

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self._set_enabled(not busy)

    def _set_enabled(self, enabled: bool) -> None:
        """Enable or disable the dialog's controls (all disabled while a job runs)."""

    def _finished(self) -> None:
        """A job has ended, either way."""

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.say(message, error=True)

    @Slot()
    def _on_done(self) -> None:
        self.task = None
        self._set_busy(False)
        self._finished()

    def say(self, text: str, error: bool = False, bold: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "font-weight: bold;" if bold else "")
        self.message.setText(text)

    def reject(self) -> None:
        if self.task is None:
            super().reject()
