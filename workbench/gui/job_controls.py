"""The controls of one long job in a child process, shared by the Train and Fine-tune panels: Start, Pause (which
becomes Resume while paused), Stop, an optional Resume of a stopped run, a status line coloured by phase, and a
progress bar that is busy until the first step and then shows the step of the total.

The lifecycle lives here once: which buttons are enabled in which phase, Pause and Stop acting on the task's
control, and the failure path of a child process that died without a word (its runs marked interrupted so they
can be resumed, the message shown here and sent to the window). The panel connects Start (and Resume) to its
own methods, launches a task with `launch`, reports phases with `set_phase`, and enables its own form on
`changed`; `finished` follows the end of every job.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from workbench.gui.notify import notify_window
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import mark_dead_runs_interrupted

PHASE_COLOURS = {"completed": "#1b7f2a", "paused": "#a66a00", "stopped": "#a66a00", "failed": "#c0392b",
                 "diverged": "#c0392b"}
PAUSABLE = ("preparing", "running", "paused")


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class JobControls(QWidget):
    """Buttons and status on one row, the progress bar under them. `phase` is "idle", "preparing", "running",
    "pausing", "paused", "stopping", or how the last job ended; `task` is the job running, else None."""

    changed = Signal()  # the buttons were enabled anew (busy or phase changed): the panel enables its form
    finished = Signal()  # a job ended (after its success or failure was shown) and the controls are idle

    def __init__(self, state: AppState, runner: TaskRunner, ready_text: str, start_tip: str, stop_tip: str,
                 pause_tip: str | None = None, resume_tip: str | None = None,
                 can_start: Callable[[], bool] = lambda: True, can_resume: Callable[[], bool] = lambda: False,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.task: Task | None = None
        self.phase = "idle"
        self._can_start, self._can_resume = can_start, can_resume
        self.start_button = _button("Start", start_tip)
        self.pause_button = _button("Pause", pause_tip) if pause_tip else None
        self.stop_button = _button("Stop", stop_tip)
        self.resume_button = _button("Resume", resume_tip) if resume_tip else None
        self.status_label = QLabel(ready_text)
        self.status_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        if self.pause_button is not None:
            self.pause_button.clicked.connect(self.toggle_pause)
        self.stop_button.clicked.connect(self.stop)
        self._row = QHBoxLayout()
        for button in (self.start_button, self.pause_button, self.stop_button, self.resume_button):
            if button is not None:
                self._row.addWidget(button)
        self._row.addWidget(self.status_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._row)
        layout.addWidget(self.progress)

    def add_widget(self, widget: QWidget) -> None:
        """Put one of the panel's own widgets on the button row, after the buttons."""
        self._row.insertWidget(self._row.count() - 1, widget)

    @property
    def busy(self) -> bool:
        return self.task is not None

    # ---- a job's lifecycle ----------------------------------------------------------------------------------

    def launch(self, task: Task, phase: str, text: str) -> None:
        """Run `task` (the panel has connected its events and success); the bar is busy until `show_step`."""
        self.task = task
        task.failed.connect(self._on_failed)
        task.done.connect(self._on_done)
        self.progress.setRange(0, 0)
        self.set_phase(phase, text)
        self.runner.start(task)

    @Slot()
    def toggle_pause(self) -> None:
        if self.task is None:
            return
        if self.phase == "paused":
            self.task.control.resume()
            self.set_phase("running", "Resuming…")
        elif self.phase in ("running", "preparing"):
            self.task.control.pause()
            self.set_phase("pausing", "Pausing after the current step…")

    @Slot()
    def stop(self) -> None:
        if self.task is not None:
            self.task.control.stop()
            self.set_phase("stopping", "Stopping: saving a checkpoint…")

    def show_step(self, step: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        mark_dead_runs_interrupted(self.state.workspace)  # a process that died left its run "running"
        self.set_phase("failed", f"Failed: {message}")
        notify_window(self, message, details)

    @Slot()
    def _on_done(self) -> None:
        self.task = None
        if self.progress.maximum() == 0:  # ended before its first step
            self.progress.setRange(0, 1)
        self.update_buttons()
        self.finished.emit()
        self.state.runs_changed.emit()

    # ---- showing it -----------------------------------------------------------------------------------------

    def set_phase(self, phase: str, text: str) -> None:
        self.phase = phase
        self.status_label.setText(text)
        colour = PHASE_COLOURS.get(phase)
        self.status_label.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "font-weight: bold;")
        self.update_buttons()

    def say(self, text: str) -> None:
        """A new status text in the same phase."""
        self.set_phase(self.phase, text)

    def report_error(self, message: str, details: str = "") -> None:
        """A failure the job itself reported: shown (as the phase, unless that already says failed or diverged)
        and sent to the window as a notification."""
        if self.phase not in ("failed", "diverged"):
            self.set_phase("failed", message)
        notify_window(self, message, details)

    def update_buttons(self) -> None:
        busy = self.busy
        self.start_button.setEnabled(not busy and self._can_start())
        if self.pause_button is not None:
            self.pause_button.setEnabled(busy and self.phase in PAUSABLE)
            self.pause_button.setText("Resume" if self.phase == "paused" else "Pause")
        self.stop_button.setEnabled(busy and self.phase != "stopping")
        if self.resume_button is not None:
            self.resume_button.setEnabled(not busy and self._can_resume())
        self.changed.emit()
