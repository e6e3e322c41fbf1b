"""Issue 14 item 10, a full disk: a checkpoint save or a metrics write that the disk refuses ends the run
`stopped` (never `failed` or left `running`) with one line naming the problem and the checkpoint that is intact,
exit code 2, no partial checkpoint folder, and a resume that then works. The disk is filled by injecting
OSError(ENOSPC) at the write call (and SQLite's "database or disk is full" inside the metrics transaction); one
more test fills a real tmpfs (2 MB free) where this machine lets the tests mount one."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import RUN, cli, copy_home, db_rows, one_error_line
from sqlalchemy.exc import OperationalError

import workbench.core.checkpoints as checkpoints
import workbench.store.runstore as runstore


def test_a_full_disk_at_a_checkpoint_stops_the_run_with_the_last_one_intact(
        run_home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = torch.save

    def full_disk(obj: object, f: object) -> None:
        if obj["step"] == 30:  # type: ignore[index]  # the run's final checkpoint
            f.write(b"x" * 100)  # type: ignore[attr-defined]
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(checkpoints.torch, "save", full_disk)
    code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", "30")
    assert code == 2
    assert one_error_line(err) == ("mlm-workbench: error: disk full while saving checkpoint step-30; the run is "
                                   "stopped and step-20 is intact")
    assert db_rows(run_home, "SELECT status FROM runs") == [("stopped",)]
    assert [s for s, in db_rows(run_home, "SELECT step FROM checkpoints ORDER BY step")] == [10, 20]
    folders = sorted(p.name for p in (run_home / "runs" / "run-00001" / "checkpoints").iterdir())
    assert folders == ["step-0000010", "step-0000020"]  # nothing half-written is left
    monkeypatch.setattr(checkpoints.torch, "save", real_save)  # room again: the run resumes from step 20
    code, _, err = cli(capsys, run_home, "resume", RUN)
    assert code == 0, err
    assert db_rows(run_home, "SELECT status, last_step FROM runs") == [("completed", 30)]


def test_a_full_disk_at_a_metrics_write_stops_the_run_instead_of_leaving_it_running(
        run_home: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    real_upsert = runstore.upsert_latest

    def full_database(session: object, rows: list[dict]) -> None:
        if max(row["step"] for row in rows) > 20:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = sqlite3.SQLITE_FULL  # what SQLite sets on a full disk
            raise OperationalError("INSERT INTO latest_metrics ...", {}, error)
        real_upsert(session, rows)

    monkeypatch.setattr(runstore, "upsert_latest", full_database)
    code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", "30")
    assert code == 2
    assert one_error_line(err) == ("mlm-workbench: error: disk full while writing metrics at step 30; the run is "
                                   "stopped and step-20 is intact")
    assert db_rows(run_home, "SELECT status FROM runs") == [("stopped",)]
    assert db_rows(run_home, "SELECT max(step) FROM metrics") == [(20,)]  # the refused batch is all that is lost
    assert [s for s, in db_rows(run_home, "SELECT step FROM checkpoints ORDER BY step")] == [10, 20]
    monkeypatch.setattr(runstore, "upsert_latest", real_upsert)
    code, _, err = cli(capsys, run_home, "resume", RUN)
    assert code == 0, err
    assert db_rows(run_home, "SELECT status, last_step FROM runs") == [("completed", 30)]


@pytest.fixture
def small_tmpfs(tmp_path: Path, template_home: Path) -> Path:
    """A tmpfs with room for a copy of the template home plus 2 MB, less than one more checkpoint (3.4 MB), as
    root on a kernel that allows it; unmounted after the test, skipped where mounting is not permitted."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    size_kb = sum(p.stat().st_size for p in template_home.rglob("*") if p.is_file()) // 1024 + 2048
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)  # lazily: a closed SQLite file may linger a moment


def test_a_real_full_disk_stops_the_run_resumable(template_home: Path, small_tmpfs: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    home = copy_home(template_home, small_tmpfs / "home")
    code, _, err = cli(capsys, home, "resume", RUN, "--steps", "200")
    assert code == 2
    assert one_error_line(err).startswith("mlm-workbench: error: disk full while"), err
    status = db_rows(home, "SELECT status FROM runs")
    assert status in ([("stopped",)], [("running",)]), status  # see docs/reliability.md: a status write may fail
    assert not [p for p in (home / "runs" / "run-00001" / "checkpoints").iterdir() if p.name.startswith(".")]
    with sqlite3.connect(home / "workbench.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_full_disk_at_a_fine_tuning_checkpoint_stops_it_with_the_last_one_intact(
        run_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    from workbench.samples.tasks import write_subjects

    train = write_subjects(tmp_path / "train.tsv", 48, seed=5, held_out=False)
    validation = write_subjects(tmp_path / "validation.tsv", 16, seed=6, held_out=True)
    real_save = torch.save

    def full_disk(obj: object, f: object) -> None:
        if obj["epoch"] == 2:  # type: ignore[index]  # the second epoch's checkpoint
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(obj, f)

    monkeypatch.setattr(checkpoints.torch, "save", full_disk)
    args = ("finetune", "--task", "classify", "--train", str(train), "--validation", str(validation), "--from", RUN,
            "--epochs", "3", "--batch-size", "16", "--device", "cpu", "--name", "ft")
    code, _, err = cli(capsys, run_home, *args)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith("mlm-workbench: error: disk full while saving checkpoint step-") and \
        line.endswith(f"; the run is stopped and {checkpoints.checkpoint_name(3)} is intact"), line
    assert db_rows(run_home, "SELECT status FROM runs WHERE name = 'ft'") == [("stopped",)]
    run_dir = run_home / "runs" / "run-00002" / "checkpoints"
    assert [p.name for p in run_dir.iterdir()] == [checkpoints.checkpoint_name(3)]  # nothing half-written
    monkeypatch.setattr(checkpoints.torch, "save", real_save)  # room again: it resumes from epoch 1's checkpoint
    code, _, err = cli(capsys, run_home, "resume", "ft")
    assert code == 0, err
    assert db_rows(run_home, "SELECT status FROM runs WHERE name = 'ft'") == [("completed",)]
