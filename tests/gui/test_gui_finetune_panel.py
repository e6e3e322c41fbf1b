"""The Fine-tune panel driven as a user: the demo data, a tiny model, Start, scores and the try-it box; a
pretrained run with its scratch baseline overlaid; Stop and Resume; a fine-tuning process killed."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths, Qt

from workbench.gui.panels.finetune_panel import FinetunePanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.corpora import get_corpus
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

QStandardPaths.setTestModeEnabled(True)


@pytest.fixture
def panel(qtbot, home: Path):
    with Workspace(home) as ws:  # a small tokenizer, and a few-step pretraining run to start from
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
        start_pretraining(ws, PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=24), name="pre", train=TrainConfig(
            steps=5, batch_size=8, eval_every=0, checkpoint_every=0, device="cpu")))
    state, runner = AppState(home), TaskRunner()
    widget = FinetunePanel(state, runner)
    qtbot.addWidget(widget)
    settings = widget.form.settings
    settings.editor("epochs").setValue(1)
    settings.editor("batch_size").setValue(64)
    settings.editor("max_len").setValue(24)
    settings.fields["lr"].set_value(1e-3)
    settings.editor("device").setCurrentText("cpu")
    yield widget
    runner.shutdown()
    state.close()


def finish(qtbot, panel: FinetunePanel, timeout: int = 180_000) -> None:
    qtbot.waitUntil(lambda: panel.task is None, timeout=timeout)


def test_classify_demo_from_scratch_scores_and_try_it(qtbot, panel: FinetunePanel) -> None:
    data = panel.form.data
    assert data.train.path().endswith("sample_subjects_train.tsv")  # the demo set by default
    assert data.label_column.currentText() == "label" and data.text_column.currentText() == "sentence"
    assert panel.form.data.preview.horizontalHeaderItem(0).text() == "sentence → text"
    assert panel.with_baseline.isEnabled()
    panel.form.base.scratch.setChecked(True)
    assert not panel.with_baseline.isEnabled()  # a baseline compares with a fine-tune from a pretraining run
    panel.form.base.preset.setCurrentText("seed-demo")
    assert data.test.path() is None and panel.form.spec().test is None
    data.test.set_path(data.validation.path())  # the demo has no test file; its validation file stands in
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    assert not panel.controls.start_button.isEnabled() and panel.controls.stop_button.isEnabled()
    finish(qtbot, panel)
    assert panel.controls.status_label.text() == "Done.", panel.controls.status_label.text()
    assert "accuracy" in panel.summary.text() and "Scratch baseline" not in panel.summary.text()
    assert "<br>  validation (chose the epoch): accuracy " in panel.summary.text()
    assert "<br>  test: accuracy " in panel.summary.text() and "(majority class " in panel.summary.text()
    assert panel.summary.text().startswith("Fine-tune from scratch: ")  # not "from the pretrained model"
    panel.curves._tick()
    assert [label.text for _, label in panel.curves.loss.legend.items] == ["from scratch"]
    confusion = panel.scores.confusion
    assert (confusion.rowCount(), confusion.columnCount()) == (3, 3)
    assert confusion.verticalHeaderItem(0).text().startswith("true ")  # issue 15 item 14: which axis is which
    assert confusion.horizontalHeaderItem(0).text().startswith("predicted ")
    total = sum(int(confusion.item(r, c).text()) for r in range(3) for c in range(3))
    assert total == 300  # every validation sentence once
    assert panel.scores.scores.rowCount() == 3
    run = panel.state.store.get_run(panel.runs["finetune"])
    assert run.kind == "finetune" and run.status == "completed" and run.parent_run_id is None
    assert run.config["result"]["test_metrics"] == run.config["result"]["best_metrics"]  # same file, chosen epoch

    panel.tabs.setCurrentWidget(panel.try_it)
    qtbot.keyClicks(panel.try_it.text, "the cow was quiet on monday .")
    with qtbot.waitSignal(panel.try_it.predicted, timeout=60_000):
        qtbot.keyClick(panel.try_it.text, Qt.Key.Key_Return)
    shown = panel.try_it.output.text()
    assert any(f"<b>{label}</b>" in shown for label in ("person", "animal", "place")) and "%" in shown


def test_tag_from_pretrained_with_baseline_overlaid(qtbot, panel: FinetunePanel) -> None:
    panel.form.data.set_task("tag")
    assert panel.form.data.train.path().endswith("sample_entities_train.conll")
    assert not panel.form.data.preview.isVisible()
    assert panel.form.base.pretrained.isChecked() and "pre · step 5" in panel.form.base.checkpoint.currentText()
    assert panel.with_baseline.isChecked()
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    finish(qtbot, panel)
    assert panel.controls.status_label.text() == "Done.", panel.controls.status_label.text()
    store = panel.state.store
    finetune, baseline = (store.get_run(panel.runs[arm]) for arm in ("finetune", "baseline"))
    assert finetune.parent_run_id == store.get_run("pre").id and baseline.parent_run_id is None
    assert baseline.config["source"]["scratch_like"] == f"{finetune.parent_run_id}:5"
    assert baseline.config["model"] == finetune.config["model"]  # the same architecture, random weights
    assert baseline.config["finetune"] == finetune.config["finetune"]
    panel.curves._tick()
    assert {("finetune", "metric"), ("baseline", "metric"), ("baseline", "loss")} <= set(panel.curves._items)
    assert "entity F1" in panel.summary.text() and "Scratch baseline" in panel.summary.text()
    assert panel.scores.scores.rowCount() >= 1 and not panel.scores.confusion.isVisibleTo(panel)

    qtbot.keyClicks(panel.try_it.text, "alice went to paris on monday morning .")
    with qtbot.waitSignal(panel.try_it.predicted, timeout=60_000):
        qtbot.mouseClick(panel.try_it.button, Qt.MouseButton.LeftButton)
    shown = panel.try_it.output.text()
    assert "from pretrained" in shown and "from scratch" in shown and "background" in shown


def start_a_long_scratch_run(qtbot, panel: FinetunePanel, steps_done: int) -> None:
    """Start a 3-epoch fine-tune of seed-demo from scratch and wait until `steps_done` steps are reported."""
    panel.form.base.scratch.setChecked(True)
    panel.form.base.preset.setCurrentText("seed-demo")
    panel.form.settings.editor("epochs").setValue(3)
    panel.form.settings.editor("batch_size").setValue(16)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.controls.progress.value() >= steps_done, timeout=90_000)


def test_stop_then_resume(qtbot, panel: FinetunePanel) -> None:
    start_a_long_scratch_run(qtbot, panel, 3)
    qtbot.mouseClick(panel.controls.stop_button, Qt.MouseButton.LeftButton)
    finish(qtbot, panel)
    assert "Stopped" in panel.controls.status_label.text() and panel.controls.resume_button.isEnabled()
    run_id = panel.runs["finetune"]
    assert panel.state.store.get_run(run_id).status == "stopped"
    assert not panel.resume(panel.state.store.get_run("pre").id)  # a pretraining run is the Train panel's
    qtbot.mouseClick(panel.controls.resume_button, Qt.MouseButton.LeftButton)
    finish(qtbot, panel)
    assert panel.controls.status_label.text() == "Done." and panel.runs["finetune"] == run_id
    assert panel.state.store.get_run(run_id).status == "completed"


def test_a_killed_fine_tuning_process_ends_the_run_as_interrupted(qtbot, panel: FinetunePanel) -> None:
    """Fine-tuning runs in a child process (workbench.jobs.background): its death ends that run, not the window."""
    start_a_long_scratch_run(qtbot, panel, 2)
    (run,) = panel.state.store.list_runs(kind="finetune")
    assert run.status == "running" and run.pid != os.getpid()
    os.kill(run.pid, signal.SIGKILL)
    finish(qtbot, panel)
    assert "ended unexpectedly" in panel.controls.status_label.text(), panel.controls.status_label.text()
    assert panel.state.store.get_run(run.id).status == "interrupted"  # resumable
    assert panel.controls.start_button.isEnabled()


def test_question_answering_settings_show_for_qa_only(qtbot, panel: FinetunePanel) -> None:
    form = panel.form
    box = form.settings.layouts["Question answering"].parentWidget()
    assert not box.isVisibleTo(form)
    form.data.set_task("qa")
    assert box.isVisibleTo(form)
    form.settings.editor("no_answer").setCurrentText("allow")
    overlap = form.settings.fields["doc_stride"]
    assert overlap.is_none() and "a third of the max length" in overlap.none_box.text()
    overlap.none_box.setChecked(False)
    form.settings.editor("doc_stride").setValue(16)
    config = form.settings.config(task="qa")
    assert config.no_answer == "allow" and config.doc_stride == 16
    form.data.set_task("tag")
    assert not box.isVisibleTo(form)


def test_the_base_model_follows_the_newest_finished_run_until_the_user_picks(qtbot, tmp_path: Path) -> None:
    """Issue 15 item 3: "From scratch" stayed selected after a pretrained run existed, and the choice stayed at
    step 1,000 of a completed 3,000-step run."""
    state, runner = AppState(tmp_path / "home"), TaskRunner()
    panel = FinetunePanel(state, runner)
    qtbot.addWidget(panel)
    base, store = panel.form.base, state.store
    assert base.scratch.isChecked() and not base.pretrained.isEnabled()
    assert panel.form.settings.fields["lr"].none_box.text() == "use the rate for the model's size: 0.0003"  # tiny
    run = store.create_run("pre", "pretrain", {}, None, None, preset="base")
    store.set_status(run.id, "running")
    store.add_checkpoint(run.id, 1000, "/x/1000", "0" * 64, 1, metrics={"val_loss": 5.0})
    state.runs_changed.emit()  # the run is training: its step 1,000 is all there is
    assert base.pretrained.isChecked() and base.checkpoint.currentData() == f"{run.id}:1000"
    for step, loss in ((2000, 4.0), (3000, 3.9)):
        store.add_checkpoint(run.id, step, f"/x/{step}", "0" * 64, 1, metrics={"val_loss": loss})
    store.set_status(run.id, "completed")
    state.runs_changed.emit()
    assert base.checkpoint.currentData() == f"{run.id}:3000"
    assert panel.form.settings.fields["lr"].none_box.text() == "use the rate for the model's size: 3e-05"  # base
    base.scratch.click()  # the user's choice stays
    state.runs_changed.emit()
    assert base.scratch.isChecked()
    runner.shutdown()
    state.close()


def test_start_waits_for_a_training_file_that_can_be_read(qtbot, panel: FinetunePanel, tmp_path: Path) -> None:
    """Issue 15 items 8 and 9: Start stayed enabled under "cannot be read", and the message said "[Errno 2]"."""
    data = panel.form.data
    assert panel.controls.start_button.isEnabled()
    data.train.set_path(str(tmp_path / "missing.tsv"))
    message = data.message.text()
    assert "no such file or directory" in message and "Errno" not in message and "Browse" in message
    assert not panel.controls.start_button.isEnabled() and not panel.start()
    data.set_task("tag")  # a CoNLL file is checked too
    data.train.set_path(str(tmp_path / "missing.conll"))
    assert not panel.controls.start_button.isEnabled()
    data.use_demo()
    assert data.problem() == "" and panel.controls.start_button.isEnabled()
