"""A run on two gloo processes supervised as the window supervises it (`run_supervised`, no Qt): rank 0's events
arrive as event objects, Pause holds every rank and Resume and Stop reach them, a killed rank ends the run
`interrupted` with the rank named, and a command refused before it starts gives its one line. Also the event
log's encoding on its own."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from workbench.core.training_types import CheckpointEvent, EvalEvent, StatusEvent, StepEvent, TrainControl, TrainResult
from workbench.jobs.corpora import get_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.supervised import EVENTS_ENV, EventLog, read_events, run_supervised
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.command_line import train_arguments
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

TIMEOUT_S = 180


def test_the_event_log_gives_back_what_was_written(tmp_path: Path):
    log = EventLog(tmp_path / "events.jsonl")
    written = [StatusEvent("running", "step 0 of 9"), StepEvent(3, 9, 4.5, 1e-3, 812.5, 1.5, 3.0, 0.7),
               EvalEvent(3, 4.2, 0.12, 66.7, None),
               CheckpointEvent(3, tmp_path / "step-3", "ab" * 32, 1234, {"val_loss": 4.2})]
    for event in written:
        log.write(event)
    log.write("not an event")  # listeners get other objects too; the log keeps the training events only
    events, result, offset = read_events(log.path, 0)
    assert events == written and result is None
    result_in = TrainResult("interrupted", 3, 4.5, 4.2, 0.12, 66.7, None, 812.5, tmp_path / "step-3", "lost",
                            world_size=2, backend="gloo", rank_tokens_per_second=(400.0, 412.5))
    log.finish(7, result_in)
    with log.path.open("a") as partial:
        partial.write('{"type": "StepEv')  # a line still being written waits for the next read
    events, result, offset_2 = read_events(log.path, offset)
    assert events == [] and result == (7, result_in)
    assert offset_2 < log.path.stat().st_size and read_events(log.path, offset_2)[0] == []


@pytest.fixture
def home(tmp_path: Path) -> Path:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Workspace.open(str(tmp_path / "home")) as ws:
            train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
    finally:
        torch.set_num_threads(threads)
    return tmp_path / "home"


def spec(steps: int) -> PretrainSpec:
    train = TrainConfig(steps=steps, batch_size=8, eval_every=20, checkpoint_every=20, log_every=1, warmup_steps=0,
                        device="cpu")
    return PretrainSpec(name="two", model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=train)


class Supervised:
    """`run_supervised` on a thread: `events` as they arrive, then `value` or `error`."""

    def __init__(self, home: Path, arguments: list[str]) -> None:
        self.events: list[object] = []
        self.control = TrainControl()
        self.value = self.error = None
        self.thread = threading.Thread(target=self._run, args=(home, arguments))
        self.thread.start()

    def _run(self, home: Path, arguments: list[str]) -> None:
        try:
            self.value = run_supervised(home, arguments, 2, self.events.append, self.control)
        except Exception as error:  # noqa: BLE001 - the test looks at it
            self.error = error

    def steps(self) -> list[int]:
        return [e.step for e in list(self.events) if isinstance(e, StepEvent)]

    def wait_for(self, condition, what: str) -> None:
        deadline = time.monotonic() + TIMEOUT_S
        while not condition():
            assert self.thread.is_alive(), f"ended before {what}: {self.error or self.value}"
            assert time.monotonic() < deadline, f"no {what} within {TIMEOUT_S} s"
            time.sleep(0.1)

    def result(self):
        self.thread.join(TIMEOUT_S)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.value


def test_pause_resume_and_stop_reach_both_ranks(home: Path):
    run = Supervised(home, train_arguments(spec(2000)))
    run.wait_for(lambda: len(run.steps()) >= 3, "steps")
    run.control.pause()
    run.wait_for(lambda: any(isinstance(e, StatusEvent) and e.status == "paused" for e in run.events), "pause")
    held = run.steps()[-1]
    time.sleep(2.0)
    assert run.steps()[-1] == held  # no rank trains while paused
    run.control.resume()
    run.wait_for(lambda: run.steps()[-1] > held, "steps after resuming")
    run.control.stop()
    run_id, result = run.result()
    assert result.status == "stopped" and result.world_size == 2 and result.backend == "gloo"
    assert result.last_checkpoint is not None and result.steps < 2000
    assert run.steps() == sorted(run.steps()) and isinstance(run.events[0], StatusEvent)
    with Workspace.open(str(home)) as ws:
        record = ws.store.get_run(run_id)
        assert record.status == "stopped" and record.config["processes"]["world_size"] == 2
        assert ws.store.latest_checkpoint(run_id).step == result.steps


def _rank_pid(events_file_word: bytes, rank: int) -> int:
    """The process of `rank` among those whose environment names this run's event log."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if events_file_word in environ and f"RANK={rank}".encode() in environ:
                return int(entry.name)
    raise AssertionError(f"no rank {rank} found")


def _events_word() -> bytes:
    """The environment entry naming the newest supervised run's event log (this test's)."""
    folders = sorted(Path(tempfile.gettempdir()).glob("mlmwb-supervised-*"), key=lambda p: p.stat().st_mtime)
    assert folders, "no supervision folder"
    return f"{EVENTS_ENV}={folders[-1] / 'events.jsonl'}".encode()


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the rank's process through /proc")
def test_a_killed_rank_ends_the_run_interrupted_and_is_named(home: Path):
    run = Supervised(home, train_arguments(spec(2000)))
    run.wait_for(lambda: len(run.steps()) >= 3, "steps")
    os.kill(_rank_pid(_events_word(), 1), 9)
    run_id, result = run.result()
    assert result.status == "interrupted"
    assert result.message.startswith(f"step {result.steps}: process 1 (rank 1) was killed by signal 9 (SIGKILL); ")
    with Workspace.open(str(home)) as ws:
        assert ws.store.get_run(run_id).status == "interrupted"


def test_a_refused_command_gives_its_one_line(home: Path):
    arguments = train_arguments(spec(10).replace(train=spec(10).train.replace(device="cuda")))
    run = Supervised(home, arguments)
    with pytest.raises(UserError, match="cuda|GPU"):
        run.result()
