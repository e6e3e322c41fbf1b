"""The Runs panel shows a distilled student's cloze and fine-tune scores beside its teacher's: the missing cloze
scores are measured in the background (a progress bar, the window stays live) and recorded, a fine-tuning run that
ends later shows up on the next poll, and a run that is no distill run shows none of this."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from distill_home import make_distill_home
from PySide6.QtCore import QStandardPaths

from workbench.gui.panels.runs_panel import RunsPanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.distill_scores import distill_scores
from workbench.jobs.finetune import FinetuneSpec, start_finetuning
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def panel(qtbot, tmp_path_factory: pytest.TempPathFactory):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(make_distill_home(tmp_path_factory.mktemp("home"))), TaskRunner()
    panel = RunsPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1280, 720)
    panel.show()
    qtbot.waitExposed(panel)
    yield panel
    runner.shutdown()
    state.close()


def _select(panel: RunsPanel, name: str) -> None:
    run = panel.state.store.get_run(name)
    panel.table.clearSelection()
    panel.table.select_ids([run.id], run.id)


def test_a_student_shows_its_scores_beside_its_teachers(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    details = panel.tabs.details
    _select(panel, "teacher")
    assert details.scores.isHidden() and details.score_progress.isHidden()  # no distill run
    _select(panel, "student")
    # measured in the background: the progress bar shows until both models are scored
    assert details.score_progress.isVisible() and "measuring ..." in details.scores.text()
    qtbot.waitUntil(lambda: details.score_progress.isHidden(), timeout=60_000)
    with Workspace(panel.state.home) as ws:
        scores = distill_scores(ws, ws.store.get_run("student"))
    assert not scores.unmeasured()  # recorded in the store
    lines = details.scores.text().splitlines()
    assert lines[0] == (f"Cloze precision@1 {scores.student.cloze.precision_at_1:.3f}, MRR "
                        f"{scores.student.cloze.mrr:.3f} · the teacher's precision@1 "
                        f"{scores.teacher.cloze.precision_at_1:.3f}, MRR {scores.teacher.cloze.mrr:.3f} at its step "
                        f"20 (sample_cloze.tsv, {scores.student.cloze.items} items)")
    assert lines[1] == "Fine-tune: none yet · the teacher's none yet"
    # a fine-tuning run of the student ends (elsewhere): the next poll shows its score
    data = tmp_path / "animals.tsv"
    rng = random.Random(0)
    data.write_text("sentence\tlabel\n" + "\n".join(f"the {a} sleeps in the {rng.choice(['barn', 'field'])}\t{a}"
                                                     for a in ["cat", "dog"] * 20) + "\n", encoding="utf-8")
    with Workspace(panel.state.home) as ws:
        config = FinetuneConfig(task="classify", epochs=1, batch_size=16, lr=1e-3, device="cpu")
        run, _ = start_finetuning(ws, FinetuneSpec(train=str(data), from_run="student", config=config, name="ft"))
    accuracy = run.config["result"]["best_metrics"]["accuracy"]
    panel.refresh()
    assert details.scores.text().splitlines()[1] == (f"Fine-tune classify animals.tsv: accuracy {accuracy:.4f} "
                                                     "(validation, run ft) · the teacher's none yet")
    assert "Teacher: run teacher" in details.info.text()  # the sizes, speeds and losses above stay
    panel.tabs.setCurrentWidget(details)
    panel.grab().save(str(tmp_path / "runs-distill.png"))
