"""The long-job controls the Train and Fine-tune panels share, on plain tasks (no training): which buttons are
enabled in which phase, Pause / Resume / Stop acting on the task's control, progress busy until the first
step, and the failure path (dead runs marked interrupted, the message shown and sent to the window)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt
from PySide6.QtWidgets import QMainWindow

import workbench.gui.job_controls as job_controls
from workbench.gui.job_controls import PHASE_COLOURS, JobControls
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner

WAIT_MS = 10_000


@pytest.fixture
def controls(qtbot, home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    widget = JobControls(state, runner, "Ready.", start_tip="start", stop_tip="stop", pause_tip="pause",
                         resume_tip="resume", can_resume=lambda: widget.phase == "stopped")
    host = QMainWindow()  # offers show_error, as MainWindow does
    host.errors = []
    host.show_error = lambda message, details="": host.errors.append(message)
    host.setCentralWidget(widget)
    qtbot.addWidget(host)
    widget.update_buttons()
    yield widget
    runner.shutdown()
    state.close()


def enabled(controls: JobControls) -> dict[str, bool]:
    buttons = {"start": controls.start_button, "pause": controls.pause_button, "stop": controls.stop_button,
               "resume": controls.resume_button}
    return {name: button.isEnabled() for name, button in buttons.items()}


def test_buttons_follow_the_phases_and_act_on_the_task(qtbot, controls: JobControls) -> None:
    assert enabled(controls) == {"start": True, "pause": False, "stop": False, "resume": False}
    release = threading.Event()
    task = Task("job", lambda task: release.wait(WAIT_MS / 1000) and "done")
    changes = []
    controls.changed.connect(lambda: changes.append(controls.phase))
    controls.launch(task, "preparing", "Preparing…")
    assert controls.busy and controls.progress.maximum() == 0  # busy until the first step
    assert enabled(controls) == {"start": False, "pause": True, "stop": True, "resume": False}
    controls.show_step(3, 10)
    assert (controls.progress.value(), controls.progress.maximum()) == (3, 10)
    qtbot.mouseClick(controls.pause_button, Qt.MouseButton.LeftButton)
    assert controls.phase == "pausing" and task.control.paused.is_set() and not controls.pause_button.isEnabled()
    controls.set_phase("paused", "Paused.")
    assert controls.pause_button.text() == "Resume" and controls.pause_button.isEnabled()
    assert PHASE_COLOURS["paused"] in controls.status_label.styleSheet()
    qtbot.mouseClick(controls.pause_button, Qt.MouseButton.LeftButton)
    assert controls.phase == "running" and not task.control.paused.is_set() and controls.pause_button.text() == "Pause"
    qtbot.mouseClick(controls.stop_button, Qt.MouseButton.LeftButton)
    assert controls.phase == "stopping" and task.control.stopped.is_set() and not controls.stop_button.isEnabled()
    assert "checkpoint" in controls.status_label.text() and changes[0] == "preparing"
    with qtbot.waitSignal(controls.finished, timeout=WAIT_MS):
        release.set()
    assert controls.task is None and controls.progress.maximum() == 10  # the last step stays shown
    controls.set_phase("stopped", "Stopped.")
    assert enabled(controls) == {"start": True, "pause": False, "stop": False, "resume": True}


def test_a_job_that_ends_before_its_first_step_leaves_an_idle_bar(qtbot, controls: JobControls) -> None:
    with qtbot.waitSignal(controls.state.runs_changed, timeout=WAIT_MS):
        controls.launch(Task("job", lambda task: None), "running", "Running…")
    assert controls.progress.maximum() == 1 and not controls.busy


def test_a_dead_job_marks_runs_interrupted_and_tells_the_window(qtbot, controls: JobControls, monkeypatch) -> None:
    marked = []
    monkeypatch.setattr(job_controls, "mark_dead_runs_interrupted", lambda ws: marked.append(ws))

    def dies(task: Task) -> None:
        raise RuntimeError("the training process ended unexpectedly (exit code -9)")

    with qtbot.waitSignal(controls.finished, timeout=WAIT_MS):
        controls.launch(Task("job", dies), "preparing", "Preparing…")
    assert marked == [controls.state.workspace] and controls.phase == "failed"
    assert controls.status_label.text() == "Failed: the training process ended unexpectedly (exit code -9)"
    assert PHASE_COLOURS["failed"] in controls.status_label.styleSheet()
    assert controls.window().errors == ["the training process ended unexpectedly (exit code -9)"]
    assert enabled(controls) == {"start": True, "pause": False, "stop": False, "resume": False}
    controls.report_error("Training diverged: loss is NaN")  # the phase already says failed: only the window hears
    assert controls.status_label.text().startswith("Failed: the training") and len(controls.window().errors) == 2
