"""`distill` end to end through the CLI: a teacher trained with `train`, a smaller student with `distill --teacher`,
listed as kind distill, resumed further with `resume --steps`, and its refusals on one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import cli

from workbench.store.runstore import RunStore

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

COMMON = ["--batch-size", "16", "--lr", "2e-3", "--warmup", "5", "--log-every", "5", "--device", "cpu", "--json"]



def test_distill_from_a_trained_teacher(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    home = tmp_path / "home"
    tokenizer = json.loads(cli(capsys, home, "tokenizer", "train", "--vocab-size", "400", "--json"))
    teacher = json.loads(cli(capsys, home, "train", "--preset", "seed-demo", "--max-len", "32", "--steps", "40",
                             "--name", "big", "--tokenizer", str(tokenizer["id"]), *COMMON))
    assert teacher["status"] == "completed"
    student = json.loads(cli(capsys, home, "distill", "--teacher", "big", "--preset", "seed-demo", "--layers", "1",
                             "--hidden", "32", "--ffn", "64", "--steps", "20", "--temperature", "3",
                             "--alpha", "0.8", "--name", "small", *COMMON))
    assert student["status"] == "completed" and student["steps"] == 20 and student["val_loss"] is not None
    listed = {run["name"]: run for run in json.loads(cli(capsys, home, "runs", "list", "--kind", "distill", "--json"))}
    assert list(listed) == ["small"]
    resumed = json.loads(cli(capsys, home, "resume", "small", "--steps", "30", "--json"))
    assert resumed["status"] == "completed" and resumed["steps"] == 30
    with RunStore.open(home / "workbench.db") as store:
        run, big = store.get_run("small"), store.get_run("big")
        assert (run.kind, run.parent_run_id, run.last_step) == ("distill", big.id, 30)
        assert run.config["distill"]["settings"] == {"temperature": 3.0, "alpha": 0.8}
        assert run.config["data"]["max_len"] == 32 and run.tokenizer_id == tokenizer["id"]
    # the student's cloze and fine-tune scores beside the teacher's: stored ones only, then measured and recorded
    stored = json.loads(cli(capsys, home, "runs", "show", "small", "--no-measure", "--json"))["distill_scores"]
    assert (stored["student"]["step"], stored["teacher"]["step"]) == (30, 40)
    assert stored["student"]["cloze"] is None and stored["teacher"]["cloze"] is None
    measured = json.loads(cli(capsys, home, "runs", "show", "small", "--json"))["distill_scores"]
    for model, run_name in (("student", "small"), ("teacher", "big")):
        probe, = json.loads(cli(capsys, home, "probe-suite", run_name, "--checkpoint", str(measured[model]["step"]),
                                "--json"))
        assert measured[model]["cloze"]["precision_at_1"] == probe["metrics"]["overall"]["precision_at_1"]
        assert measured[model]["finetune"] == []
    shown = cli(capsys, home, "runs", "show", "small")
    assert "Cloze precision@1" in shown and "Fine-tune: none yet · the teacher's none yet" in shown
    error = cli(capsys, home, "distill", "--teacher", "nobody", "--steps", "5", code=2)
    assert "no run 'nobody'" in error
    error = cli(capsys, home, "distill", "--teacher", "big", "--max-len", "64", "--steps", "5", code=2)
    assert "longer than its teacher reads (32)" in error
