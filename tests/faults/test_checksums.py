"""Issue 14 items 6 and 7: a checkpoint whose bytes changed since it was saved is never loaded. Probing refuses
it, resuming falls back to the newest intact checkpoint (saying which) and then continues exactly as the
original run did, and a run with no intact checkpoint keeps its status."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RUN, cli, db_rows, flip_bytes, one_error_line

from workbench.core import integrity
from workbench.jobs.checkpoint_check import DamagedCheckpoint, verified_checkpoint
from workbench.jobs.finetune import FinetuneSpec, start_finetuning
from workbench.jobs.probe import MODEL_CACHE, ModelCache, load_probe_model
from workbench.jobs.workspace import Workspace

DAMAGED = "checkpoint step-20 of run 1 is damaged (checksum mismatch)"


def checkpoint(home: Path, step: int) -> Path:
    return home / "runs" / "run-00001" / "checkpoints" / f"step-{step:07d}"


def test_probe_refuses_flipped_weights(run_home: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, _ = cli(capsys, run_home, "probe", RUN, "the [MASK] is here .")
    assert code == 0 and out
    flip_bytes(checkpoint(run_home, 20) / "model.safetensors")
    MODEL_CACHE.clear()  # as a new process would start: the weights this one holds are the intact ones
    code, out, err = cli(capsys, run_home, "probe", RUN, "the [MASK] is here .")
    assert code == 2 and out == ""
    assert DAMAGED in one_error_line(err) and "model.safetensors" in err
    code, out, _ = cli(capsys, run_home, "probe", RUN, "the [MASK] is here .", "--checkpoint", "10")
    assert code == 0 and out  # the intact one still answers


def test_resume_falls_back_to_the_newest_intact_checkpoint_and_says_which(run_home: Path,
                                                                           capsys: pytest.CaptureFixture) -> None:
    before = dict(db_rows(run_home, "SELECT step, value FROM metrics WHERE key = 'train_loss'"))
    flip_bytes(checkpoint(run_home, 20) / "training_state.pt")
    code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", "30")
    assert code == 0, err
    assert f"warning: {DAMAGED}" in err and "training_state.pt" in err
    assert "resuming run 'tiny' from step-10, its newest intact checkpoint" in err
    assert db_rows(run_home, "SELECT status, last_step FROM runs") == [("completed", 30)]
    after = dict(db_rows(run_home, "SELECT step, value FROM metrics WHERE key = 'train_loss'"))
    assert after[20] == before[20]  # steps 11-20 retrained from step 10 give the same losses
    with Workspace(run_home) as ws:  # step-20 was saved again, and now matches its record
        assert [c.step for c in ws.store.checkpoints(1)] == [10, 20, 30]
        verified_checkpoint(ws, ws.store.get_run(1), 20, with_state=True)


def test_a_completed_run_with_no_intact_checkpoint_keeps_its_status(run_home: Path,
                                                                    capsys: pytest.CaptureFixture) -> None:
    points = db_rows(run_home, "SELECT count(*) FROM metrics")
    for step in (10, 20):
        flip_bytes(checkpoint(run_home, step) / "model.safetensors")
    code, _, err = cli(capsys, run_home, "resume", RUN, "--steps", "30")
    assert code == 2
    line = one_error_line(err)
    assert DAMAGED in line and "has no intact checkpoint to resume from" in line
    assert db_rows(run_home, "SELECT status, error, last_step FROM runs") == [("completed", None, 20)]
    assert db_rows(run_home, "SELECT count(*) FROM metrics") == points


def test_a_missing_weights_file_is_damage_too(run_home: Path, capsys: pytest.CaptureFixture) -> None:
    (checkpoint(run_home, 20) / "model.safetensors").unlink()
    code, _, err = cli(capsys, run_home, "probe", RUN, "the [MASK] is here .")
    assert code == 2
    assert "checkpoint step-20 of run 1 is damaged (files missing): model.safetensors is not there" in err


def test_finetune_from_and_export_refuse_a_damaged_checkpoint(run_home: Path, tmp_path: Path) -> None:
    flip_bytes(checkpoint(run_home, 20) / "model.safetensors")
    data = tmp_path / "train.csv"
    data.write_text("text,label\n" + "".join(f"the cow {i} says moo,{i % 2}\n" for i in range(20)), encoding="utf-8")
    with Workspace(run_home) as ws:
        with pytest.raises(DamagedCheckpoint, match=r"step-20 of run 1 is damaged \(checksum mismatch\)"):
            start_finetuning(ws, FinetuneSpec(train=str(data), from_run=RUN, name="ft"))
        assert ws.store.get_run("ft") is None  # refused before anything was recorded
        with pytest.raises(DamagedCheckpoint):  # what `export` calls
            verified_checkpoint(ws, ws.store.get_run(RUN))
        assert verified_checkpoint(ws, ws.store.get_run(RUN), 10).step == 10


def test_each_file_is_hashed_once_while_it_is_unchanged(run_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hashed: list[Path] = []
    real = integrity._sha256
    monkeypatch.setattr(integrity, "_sha256", lambda path: hashed.append(path) or real(path))
    with Workspace(run_home) as ws:
        for _ in range(3):  # no model cache: each call loads the weights again, and checks them first
            load_probe_model(ws, RUN, cache=ModelCache(0))
        assert len(hashed) == 1
        flip_bytes(checkpoint(run_home, 20) / "model.safetensors")
        with pytest.raises(DamagedCheckpoint):
            load_probe_model(ws, RUN, cache=ModelCache(0))
        assert len(hashed) == 2
