"""A distilled student's cloze and fine-tuning scores beside its teacher's (`jobs.distill_scores`): read from the
store only, measured on demand with the bundled cloze suite (recorded as `probe-suite` records it, and then read
back without evaluating again), the best of several fine-tuning runs per base model, "none yet" without any, and
a deleted teacher said in words."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from distill_home import make_distill_home
from workbench.jobs.distill_scores import cloze_suite, distill_scores, measure_cloze, score_lines
from workbench.jobs.finetune import FinetuneSpec, start_finetuning
from workbench.jobs.probe import run_probe_suite
from workbench.jobs.pretrain import delete_run
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FRAMES = ["the {} sleeps near the old barn", "a small {} runs in the field", "my {} watches the moon at night"]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_distill_home(tmp_path_factory.mktemp("home"))


@pytest.fixture(scope="module")
def animals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = random.Random(0)
    data = tmp_path_factory.mktemp("data") / "animals.tsv"
    rows = [f"{rng.choice(FRAMES).format(label)}\t{label}" for label in ["cat", "dog"] * 30]
    data.write_text("sentence\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return data


def _finetune(ws: Workspace, base: str, data: Path, name: str, lr: float) -> float:
    config = FinetuneConfig(task="classify", epochs=1, batch_size=16, lr=lr, device="cpu")
    run, result = start_finetuning(ws, FinetuneSpec(train=str(data), from_run=base, config=config, name=name))
    assert result.status == "completed"
    return run.config["result"]["best_metrics"]["accuracy"]


def test_cloze_scores_are_measured_once_and_stored(home: Path) -> None:
    with Workspace.open(str(home)) as ws:
        student = ws.store.get_run("student")
        before = distill_scores(ws, student)
        assert (before.student.cloze, before.teacher.cloze) == (None, None)
        assert (before.student.step, before.teacher.step) == (10, 20)  # the student's last, the teacher's taught
        assert [m.name for m in before.unmeasured()] == ["student", "teacher"]
        assert score_lines(before)[0] == ("Cloze not measured yet · the teacher's not measured yet at its step 20 "
                                          "(sample_cloze.tsv)")
        reports: list[tuple[int, int]] = []
        measured = measure_cloze(ws, student.id, progress=lambda done, total: reports.append((done, total)))
        assert reports == [(1, 2), (2, 2)] and not measured.unmeasured()
        # the same numbers as the probe-suite job gives for those checkpoints
        for model in (measured.student, measured.teacher):
            (record, _), = run_probe_suite(ws, model.run_id, cloze_suite(ws)[0], step=model.step)
            overall = record.metrics["overall"]
            assert (model.cloze.precision_at_1, model.cloze.mrr) == (overall["precision_at_1"], overall["mrr"])
        assert distill_scores(ws, student) == measured  # now read from the store
        reports.clear()
        measure_cloze(ws, student.id, progress=lambda done, total: reports.append((done, total)))
        assert reports == []  # nothing left to evaluate
        line = score_lines(measured)[0]
        assert f"precision@1 {measured.student.cloze.precision_at_1:.3f}, MRR {measured.student.cloze.mrr:.3f}" in line
        assert f"{measured.student.cloze.items} items" in line


def test_the_best_finetune_score_of_each_model(home: Path, animals: Path) -> None:
    with Workspace.open(str(home)) as ws:
        student = ws.store.get_run("student")
        assert distill_scores(ws, student).student.finetune == []
        assert "Fine-tune: none yet · the teacher's none yet" in score_lines(distill_scores(ws, student))
        first = _finetune(ws, "student", animals, "student-ft-a", 1e-3)
        second = _finetune(ws, "student", animals, "student-ft-b", 3e-3)
        scores = distill_scores(ws, student)
        best, = scores.student.finetune
        assert (best.task, best.train_file, best.metric, best.split) == ("classify", "animals.tsv", "accuracy",
                                                                         "validation")
        assert best.value == max(first, second)
        assert best.run_name == ("student-ft-a" if first >= second else "student-ft-b")
        assert f"Fine-tune classify animals.tsv: accuracy {best.value:.4f} (validation, run {best.run_name}) · " \
               "the teacher's none yet" in score_lines(scores)
        teacher = _finetune(ws, "teacher", animals, "teacher-ft", 1e-3)
        scores = distill_scores(ws, student)
        assert [s.value for s in scores.teacher.finetune] == [teacher]
        assert scores.to_dict()["teacher"]["finetune"][0]["run_name"] == "teacher-ft"


def test_a_deleted_teacher_is_said_in_words(home: Path, tmp_path: Path) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    with Workspace.open(str(copy)) as ws:
        delete_run(ws, ws.store.get_run("teacher").id)
        scores = measure_cloze(ws, ws.store.get_run("student").id)
        assert scores.teacher.cloze_error == "the run was deleted" and scores.teacher.finetune == []
        assert "the teacher's cannot be measured (the run was deleted) at its step 20" in score_lines(scores)[0]
