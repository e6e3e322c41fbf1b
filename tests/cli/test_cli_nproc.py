"""`train --nproc 2` on the CPU (gloo, through torchrun): one writer, a lost rank, and the refusals.

Every launch runs in a subprocess with a timeout, so a hang fails the test instead of hanging CI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from workbench.cli import control
from workbench.cli.control import stop_on_signals
from workbench.cli.launch import torchrun_command
from workbench.cli.main import main
from workbench.store.runstore import RunStore

TRAIN = ["train", "--preset", "seed-demo", "--layers", "2", "--hidden", "32", "--heads", "2", "--ffn", "64",
         "--max-len", "32", "--batch-size", "8", "--log-every", "1", "--eval-every", "4", "--warmup", "0",
         "--device", "cpu", "--json"]


def cli(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "workbench", "--home", str(home), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def files(home: Path) -> set[str]:
    """What a run left in the home, but the database (its -wal/-shm come and go) and the sample corpus' cache."""
    return {str(p.relative_to(home)) for p in home.rglob("*") if p.is_file() and not p.name.startswith("workbench.db")}


@pytest.mark.slow
def test_two_ranks_write_what_one_process_writes_and_nothing_more(tmp_path: Path, capsys) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["--home", str(one), *TRAIN, "--steps", "8", "--checkpoint-every", "4", "--name", "r"]) == 0
    capsys.readouterr()
    child = cli(two, *TRAIN, "--steps", "8", "--checkpoint-every", "4", "--name", "r", "--nproc", "2")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["status"] == "completed" and summary["world_size"] == 2 and summary["backend"] == "gloo"
    assert len(summary["rank_tokens_per_second"]) == 2
    assert files(two) == files(one)  # rank 1 left nothing of its own
    with RunStore.open(two / "workbench.db") as store:
        [run] = store.list_runs()
        assert run.status == "completed" and run.config["processes"]["world_size"] == 2
        assert [c.step for c in store.checkpoints(run.id)] == [4, 8]
        losses = store.metrics(run.id, "train_loss")
        assert [p.step for p in losses] == list(range(1, 9))  # each step logged once, by rank 0
        assert len(store.metrics(run.id, "val_loss")) == 2


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _rank_pid(launcher: int, rank: int) -> int:
    """The worker of `rank` among the launcher's grandchildren (launcher -> torchrun -> ranks)."""
    for torchrun in _children(launcher):
        for worker in _children(torchrun):
            environ = Path(f"/proc/{worker}/environ").read_bytes().split(b"\0")
            if f"RANK={rank}".encode() in environ:
                return worker
    raise AssertionError(f"no rank {rank} under {launcher}")


def _checkpoints(home: Path) -> int:
    # Not rglob: it would walk into a `.tmp-step-*` folder that the writer renames away meanwhile.
    return len(list((home / "runs").glob("*/checkpoints/step-*")))


def _wait_for_checkpoints(home: Path, more_than: int, child: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while _checkpoints(home) <= more_than:
        assert time.monotonic() < deadline and child.poll() is None, "no new checkpoint"
        time.sleep(0.3)


def _ended_within(child: subprocess.Popen, seconds: float) -> int:
    started = time.monotonic()
    try:
        child.communicate(timeout=seconds)
    finally:
        if child.poll() is None:
            child.kill()
    assert time.monotonic() - started < seconds
    return child.returncode


@pytest.mark.slow
def test_ctrl_c_stops_every_rank_and_a_killed_rank_ends_both_interrupted_then_one_process_resumes(
        tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    child = cli(home, *TRAIN, "--steps", "100000", "--checkpoint-every", "3", "--name", "k", "--nproc", "2")
    _wait_for_checkpoints(home, 0, child)
    child.send_signal(signal.SIGINT)  # Ctrl-C: forwarded once, through torchrun, to both ranks
    assert _ended_within(child, 60) == 128 + signal.SIGINT
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("k")
        assert run.status == "stopped" and store.latest_checkpoint(run.id).step == run.last_step

    child = cli(home, "resume", "k", "--nproc", "2")  # 2 ranks again, from the stop's checkpoint
    _wait_for_checkpoints(home, _checkpoints(home), child)
    os.kill(_rank_pid(child.pid, 1), signal.SIGKILL)
    assert _ended_within(child, 60) != 0
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("k")
        checkpoint = store.latest_checkpoint(run.id)
    assert run.status == "interrupted" and "lost" in run.error and checkpoint.step > 3
    assert main(["--home", str(home), "resume", "k", "--steps", str(checkpoint.step + 2), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["status"] == "completed" and summary["steps"] == checkpoint.step + 2
    assert summary["world_size"] == 1


@pytest.mark.slow
def test_a_sharded_run_evaluates_saves_whole_checkpoints_and_resumes_on_one_process(tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    child = cli(home, *TRAIN, "--steps", "8", "--checkpoint-every", "4", "--name", "s", "--nproc", "2", "--shard")
    out, err = child.communicate(timeout=180)
    assert child.returncode == 0, err[-3000:]
    summary = json.loads(out)
    assert summary["status"] == "completed" and summary["backend"] == "gloo, sharded (FSDP2)"
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("s")
        assert [c.step for c in store.checkpoints(run.id)] == [4, 8]
        val = store.metrics(run.id, "val_loss")  # the ranks evaluate together; rank 0 records
        assert [p.step for p in val] == [4, 8] and all(0 < p.value < 20 for p in val)
    assert main(["--home", str(home), "resume", "s", "--steps", "10", "--json"]) == 0  # one process, whole weights
    resumed = json.loads(capsys.readouterr().out)
    assert resumed["status"] == "completed" and resumed["steps"] == 10 and resumed["world_size"] == 1


def test_shard_is_refused_without_processes_and_for_fine_tuning(tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), *TRAIN, "--steps", "2", "--shard"]) == 2
    assert "--shard splits the model over several processes: add --nproc N" in capsys.readouterr().err
    assert main(["--home", str(home), "finetune", "--task", "classify", "--train", "t.tsv", "--scratch", "tiny",
                 "--shard", "--nproc", "2"]) == 2
    assert "--shard is for pretraining" in capsys.readouterr().err
    with RunStore.open(home / "workbench.db") as store:
        assert store.list_runs() == []


def test_nproc_is_refused_before_anything_starts_when_the_gpus_or_the_batch_do_not_fit(tmp_path: Path,
                                                                                       capsys) -> None:
    home = tmp_path / "home"
    assert main(["--home", str(home), *TRAIN, "--steps", "2", "--nproc", "3"]) == 2
    assert "does not split evenly over --nproc 3" in capsys.readouterr().err
    import torch

    if torch.cuda.device_count() < 2:
        args = [a if a != "cpu" else "cuda" for a in TRAIN]
        assert main(["--home", str(home), *args, "--steps", "2", "--nproc", "2"]) == 2
        err = capsys.readouterr().err.strip()
        assert "--nproc 2 needs 2 GPUs" in err and "this machine has" in err and len(err.splitlines()) == 1
    assert main(["--home", str(home), *TRAIN, "--steps", "2", "--nproc", "2", "--corpus", "nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err  # refused by the launcher: no torchrun started
    with RunStore.open(home / "workbench.db") as store:
        assert store.list_runs() == []


def test_a_rank_takes_the_same_stop_delivered_twice_as_one_and_a_later_second_as_an_abort(monkeypatch) -> None:
    with stop_on_signals(grace_s=5.0) as stop:
        signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGTERM)  # torchrun passing on the scheduler's stop: no abort
        assert stop.control.stopped.is_set() and stop.exit_code(True) == 128 + signal.SIGTERM
        clock = time.monotonic() + 6
        monkeypatch.setattr(control.time, "monotonic", lambda: clock)
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)


def test_the_torchrun_command_runs_the_same_command_without_the_launchers_own_options() -> None:
    command = torchrun_command(["--home", "/h", "train", "--nproc", "2", "--steps=3", "--nproc=2", "--json"], 2)
    assert command[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2"]
    assert command[command.index("workbench") - 1:] == ["-m", "workbench", "train", "--steps=3", "--json"]


@pytest.mark.slow
def test_ranks_stop_with_a_checkpoint_when_the_launching_command_is_killed(tmp_path: Path) -> None:
    """`kill -9` of `train --nproc 2` itself forwards no signal: the ranks notice their launcher is gone
    (`jobs.parent_watch`), stop together at the next step with a checkpoint, and torchrun ends (issue 14 item 5)."""
    from workbench.store.processes import pid_alive

    home = tmp_path / "home"
    child = cli(home, *TRAIN, "--steps", "100000", "--checkpoint-every", "3", "--name", "o", "--nproc", "2")
    _wait_for_checkpoints(home, 0, child)
    [torchrun] = _children(child.pid)
    ranks = [_rank_pid(child.pid, rank) for rank in (0, 1)]
    child.kill()
    child.communicate(timeout=30)
    deadline = time.monotonic() + 60
    while any(pid_alive(pid) for pid in (torchrun, *ranks)):
        assert time.monotonic() < deadline, "the ranks trained on without their launcher"
        time.sleep(0.3)
    with RunStore.open(home / "workbench.db") as store:
        run = store.get_run("o")
        assert run.status == "stopped" and store.latest_checkpoint(run.id).step == run.last_step
