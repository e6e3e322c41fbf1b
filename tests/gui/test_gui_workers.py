"""ProcessTask: a function in a spawned child process, its events, progress, value and failure relayed as the
signals a thread Task sends, and pause / stop through the shared control."""

from __future__ import annotations

import os
import signal
import threading
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


def pid_then_pause_job(task) -> None:
    task.control.pause()
    task.event.emit(os.getpid())
    task.control.wait_while_paused()


def stubborn_job(task) -> None:
    task.event.emit("started")
    while True:  # a child stuck where it never looks at its control
        time.sleep(0.05)


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


def test_a_child_killed_while_paused_does_not_block_the_next_stop(qtbot) -> None:
    """Stop after the paused child was killed (kill -9, out of memory) returns at once: with multiprocessing's
    Condition it waited forever for the dead sleeper to wake, and the window hung on Stop or close."""
    task, got, runner = run_task(qtbot, pid_then_pause_job)
    qtbot.waitUntil(lambda: len(got.events) == 1, timeout=WAIT_MS)
    time.sleep(0.2)  # the child is inside wait_while_paused
    os.kill(got.events[0], signal.SIGKILL)
    stopping = threading.Thread(target=task.control.stop, daemon=True)
    stopping.start()
    stopping.join(timeout=5)
    assert not stopping.is_alive() and task.control.stopped.is_set()
    qtbot.waitUntil(lambda: not runner.running(), timeout=WAIT_MS)
    assert "ended unexpectedly" in got.failures[0][0]


def test_closing_kills_a_child_that_does_not_stop_when_asked(qtbot) -> None:
    task, got, runner = run_task(qtbot, stubborn_job)
    qtbot.waitUntil(lambda: got.events == ["started"], timeout=WAIT_MS)
    started = time.monotonic()
    runner.shutdown(grace_ms=1_000)
    assert time.monotonic() - started < 15
    assert runner.running() == []
    assert got.done == [True] and "ended unexpectedly" in got.failures[0][0]
