"""ProcessTask: a function in a spawned child process, its events, progress, value and failure relayed as the
signals a thread Task sends, and pause / stop through the shared control."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("pytestqt")

from workbench.gui.workers import ProcessTask, TaskRunner  # noqa: E402

WAIT_MS = 60_000


def counting_job(task) -> str:  # module level: the child imports it by name
    for i in range(3):
        task.report("counting", i, 3)
        task.event.emit({"i": i})
    return "counted"


def failing_job(task) -> None:
    raise ValueError("bad   data\nin line 3")


def pausing_job(task) -> str:
    task.event.emit("started")
    while not task.control.paused.is_set() and not task.control.stopped.is_set():
        time.sleep(0.01)
    task.event.emit("paused")
    task.control.wait_while_paused()
    return "stopped" if task.control.stopped.is_set() else "resumed"


class Recorder:
    def __init__(self, task: ProcessTask) -> None:
        self.events, self.progress, self.values, self.failures, self.done = [], [], [], [], []
        task.event.connect(self.events.append)
        task.progress.connect(lambda *args: self.progress.append(args))
        task.succeeded.connect(self.values.append)
        task.failed.connect(lambda *args: self.failures.append(args))
        task.done.connect(lambda: self.done.append(True))


def run_task(qtbot, fn) -> tuple[ProcessTask, Recorder, TaskRunner]:
    runner = TaskRunner()
    task = ProcessTask("test", fn)
    recorder = Recorder(task)
    runner.start(task)
    return task, recorder, runner


def test_value_events_and_progress_come_back_in_order(qtbot) -> None:
    task, got, runner = run_task(qtbot, counting_job)
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    assert got.events == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert got.progress == [("counting", 0, 3), ("counting", 1, 3), ("counting", 2, 3)]
    assert got.values == ["counted"] and got.failures == [] and got.done == [True]


def test_an_error_in_the_child_fails_the_task_with_its_message(qtbot) -> None:
    """Bad input (a ValueError) is the user's to fix: its message, and no traceback under Show Details (issue 15
    item 8; a bug's traceback: tests/jobs/test_errors.py)."""
    task, got, runner = run_task(qtbot, failing_job)
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    (message, details), = got.failures
    assert message == "bad data in line 3"
    assert details == ""
    assert got.values == [] and got.done == [True]


def test_pause_resume_and_stop_reach_the_child(qtbot) -> None:
    task, got, runner = run_task(qtbot, pausing_job)
    qtbot.waitUntil(lambda: got.events == ["started"], timeout=WAIT_MS)
    task.control.pause()
    qtbot.waitUntil(lambda: got.events == ["started", "paused"], timeout=WAIT_MS)
    task.control.resume()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    assert got.values == ["resumed"]

    task, got, runner = run_task(qtbot, pausing_job)
    qtbot.waitUntil(lambda: got.events == ["started"], timeout=WAIT_MS)
    task.control.pause()
    qtbot.waitUntil(lambda: len(got.events) == 2, timeout=WAIT_MS)
    runner.shutdown()  # what closing the window does: stop, and wait for the child
    assert got.values == ["stopped"] and got.done == [True]
