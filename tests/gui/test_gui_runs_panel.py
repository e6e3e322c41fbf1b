"""The Runs panel on runs recorded through the store API (no training), and once on a real tiny run."""

from __future__ import annotations

import csv
import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QStandardPaths, Qt

from workbench.gui.panels.runs_panel import RunsPanel
from workbench.gui.panels.runs_table import COLUMNS
from workbench.gui.run_charts import MetricChart
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.store.runstore import RunStore

NAME, STEPS, BEST = COLUMNS.index("Name"), COLUMNS.index("Steps"), COLUMNS.index("Best val loss")


def run_config(hidden: int = 128, lr: float = 5e-4, steps: int = 100) -> dict:
    return {
        "model": {"hidden_size": hidden, "num_hidden_layers": 2, "num_attention_heads": 2},
        "masking": {"mlm_probability": 0.15, "strategy": "token"},
        "train": {"steps": steps, "lr": lr, "batch_size": 13, "adam_betas": [0.9, 0.999]},
        "data": {"corpus": "sample", "max_len": 32},
    }


def add_checkpoint(store: RunStore, home_runs: Path, run_id: int, step: int) -> str:
    folder = home_runs / f"run-{run_id:05d}" / "checkpoints" / f"step-{step:07d}"
    folder.mkdir(parents=True)
    weights = folder / "model.safetensors"
    weights.write_bytes(bytes(range(256)) * (run_id + 3))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    store.add_checkpoint(run_id, step, str(folder), digest, weights.stat().st_size, {"val_loss": 3.25})
    return digest


def log_curves(store: RunStore, run_id: int, last_step: int, val_start: float) -> None:
    points = []
    for step in range(10, last_step + 1, 10):
        points += [("train_loss", step, 7.0 - step / 50, 1000 + step), ("lr", step, 5e-4 * step / last_step, 1000)]
    for step in range(50, last_step + 1, 50):  # no validation before step 50
        points += [("val_loss", step, val_start - step / 100, 2000 + step), ("val_accuracy", step, step / 1000, 2000),
                   ("unigram_baseline_loss", step, 6.5, 2000 + step)]
    store.log_metrics(run_id, points)


@pytest.fixture
def env(home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    yield state, runner
    runner.shutdown()
    state.close()


@pytest.fixture
def runs(env) -> dict[str, int]:
    """Four runs: completed baseline, a stopped one with a checkpoint, an interrupted one without, a fine-tune."""
    state, _ = env
    store, runs_dir = state.store, state.workspace.layout.runs_dir
    ids = {}
    baseline = store.create_run("baseline", "pretrain", run_config(), None, None, preset="tiny", device="CPU")
    log_curves(store, baseline.id, 100, val_start=4.0)
    add_checkpoint(store, runs_dir, baseline.id, 100)
    store.set_status(baseline.id, "completed")
    ids["baseline"] = baseline.id
    wide = store.create_run("wide-lr", "pretrain", run_config(hidden=192, lr=1e-3), None, None, preset="mini")
    log_curves(store, wide.id, 60, val_start=3.8)
    add_checkpoint(store, runs_dir, wide.id, 50)
    store.set_status(wide.id, "stopped")
    store.update_run(wide.id, tags=["lr-sweep"])
    ids["wide-lr"] = wide.id
    lost = store.create_run("lost", "pretrain", run_config(steps=300), None, None, preset="tiny")
    log_curves(store, lost.id, 30, val_start=5.0)
    store.set_status(lost.id, "interrupted")
    ids["lost"] = lost.id
    tune = store.create_run("tune", "finetune", run_config(), None, None)
    add_checkpoint(store, runs_dir, tune.id, 10)
    store.set_status(tune.id, "stopped")
    ids["tune"] = tune.id
    return ids


def make_panel(qtbot, env) -> RunsPanel:
    state, runner = env
    panel = RunsPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1100, 750)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def column(panel: RunsPanel, col: int) -> list[str]:
    return [panel.proxy.index(row, col).data() for row in range(panel.proxy.rowCount())]


def click_run(qtbot, panel: RunsPanel, name: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    row = column(panel, NAME).index(name)
    rect = panel.table.visualRect(panel.proxy.index(row, NAME))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def select_runs(qtbot, panel: RunsPanel, *names: str) -> None:
    click_run(qtbot, panel, names[0])
    for name in names[1:]:
        click_run(qtbot, panel, name, Qt.KeyboardModifier.ControlModifier)
    assert [run.name for run in panel.table.selected_runs()] == [n for n in column(panel, NAME) if n in names]


def test_table_lists_sorts_and_filters(qtbot, env, runs) -> None:
    panel = make_panel(qtbot, env)
    assert column(panel, NAME) == ["tune", "lost", "wide-lr", "baseline"]  # newest first
    assert column(panel, STEPS) == ["- / 100", "30 / 300", "60 / 100", "100 / 100"]
    header = panel.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(header.sectionViewportPosition(BEST) + 5, header.height() // 2))
    assert column(panel, BEST) == ["-", "-", "3.0000", "3.3000"]  # empty first, then ascending numbers
    qtbot.keyClicks(panel.toolbar.search, "SWEEP")
    assert column(panel, NAME) == ["wide-lr"]
    panel.toolbar.search.clear()
    panel.toolbar.status_filter.setCurrentIndex(panel.toolbar.status_filter.findData("stopped"))
    assert sorted(column(panel, NAME)) == ["tune", "wide-lr"]
    panel.toolbar.status_filter.setCurrentIndex(0)
    panel.poll_timer.stop()  # so only the button or the signal can show new runs
    env[0].store.create_run("fresh", "pretrain", run_config(), None, None)
    qtbot.mouseClick(panel.toolbar.refresh_button, Qt.MouseButton.LeftButton)
    assert "fresh" in column(panel, NAME) and len(column(panel, NAME)) == 5
    env[0].store.create_run("fresher", "pretrain", run_config(), None, None)
    env[0].runs_changed.emit()
    assert "fresher" in column(panel, NAME)


def test_details_show_config_tree_checkpoints_and_curves(qtbot, env, runs) -> None:
    panel = make_panel(qtbot, env)
    details, checkpoints, curves = panel.tabs.details, panel.tabs.checkpoints, panel.tabs.curves
    click_run(qtbot, panel, "baseline")
    assert details.name_edit.text() == "baseline"
    sections = [details.config_tree.topLevelItem(i).text(0) for i in range(details.config_tree.topLevelItemCount())]
    assert sections == ["model", "masking", "train", "data"]
    train = details.config_tree.topLevelItem(2)
    settings = {train.child(i).text(0): train.child(i).text(1) for i in range(train.childCount())}
    assert settings == {"steps": "100", "lr": "0.0005", "batch_size": "13", "adam_betas": "[0.9, 0.999]"}
    checkpoint = env[0].store.latest_checkpoint(runs["baseline"])
    assert checkpoints.rowCount() == 1
    assert [checkpoints.item(0, c).text() for c in (0, 2, 4)] == ["100", checkpoint.sha256[:12], checkpoint.path]
    assert checkpoints.item(0, 1).text() == f"{checkpoint.size / 1000:.1f} KB"
    assert curves.loss.curve_names() == ["train", "validation", "unigram baseline"]
    assert curves.accuracy.curve_names() == ["validation"] and curves.lr.curve_names() == ["lr"]
    assert "completed" in details.info.text()
    click_run(qtbot, panel, "tune")
    assert curves.loss.curve_names() == [] and checkpoints.rowCount() == 1


def test_diff_shows_exactly_the_differing_settings(qtbot, env, runs) -> None:
    panel = make_panel(qtbot, env)
    click_run(qtbot, panel, "baseline")
    assert not panel.toolbar.diff_button.isEnabled()
    select_runs(qtbot, panel, "baseline", "wide-lr")
    assert panel.toolbar.diff_button.isEnabled()
    qtbot.mouseClick(panel.toolbar.diff_button, Qt.MouseButton.LeftButton)
    assert panel.tabs.currentWidget() is panel.tabs.diff_page
    table = panel.tabs.diff_page.table
    rows = [tuple(table.item(r, c).text() for c in range(3)) for r in range(table.rowCount())]
    assert rows == [("model.hidden_size", "192", "128"), ("train.lr", "0.001", "0.0005")]  # table order: wide-lr first
    assert [table.horizontalHeaderItem(c).text() for c in (1, 2)] == ["wide-lr", "baseline"]
    assert panel.tabs.diff_page.summary.text().startswith("2 settings differ")


def test_rename_notes_and_tags_persist(qtbot, env, runs) -> None:
    state, _ = env
    panel = make_panel(qtbot, env)
    click_run(qtbot, panel, "lost")
    panel.tabs.details.name_edit.setText("recovered")
    panel.tabs.details.tags_edit.setText("ablation, , night ,ablation")
    panel.tabs.details.notes_edit.setPlainText("killed by the laptop going to sleep")
    with qtbot.waitSignal(state.runs_changed):
        qtbot.mouseClick(panel.tabs.details.save_button, Qt.MouseButton.LeftButton)
    run = state.store.get_run(runs["lost"])
    assert (run.name, run.tags) == ("recovered", ["ablation", "night"])
    assert run.notes == "killed by the laptop going to sleep"
    assert "recovered" in column(panel, NAME) and panel.tabs.details.tags_edit.text() == "ablation, night"
    panel.tabs.details.name_edit.setText("baseline")  # taken
    qtbot.mouseClick(panel.tabs.details.save_button, Qt.MouseButton.LeftButton)
    assert "baseline" in panel.message.text() and state.store.get_run(runs["lost"]).name == "recovered"


def test_resume_only_for_resumable_runs(qtbot, env, runs) -> None:
    panel = make_panel(qtbot, env)
    # completed / stopped with a checkpoint / interrupted without one / a stopped fine-tuning run
    expected = {"baseline": False, "wide-lr": True, "lost": False, "tune": True}  # fine-tune runs resume too
    for name, enabled in expected.items():
        click_run(qtbot, panel, name)
        assert panel.toolbar.resume_button.isEnabled() is enabled, name
    select_runs(qtbot, panel, "wide-lr", "baseline")
    assert not panel.toolbar.resume_button.isEnabled()
    click_run(qtbot, panel, "wide-lr")
    with qtbot.waitSignal(panel.resume_requested) as signal:
        qtbot.mouseClick(panel.toolbar.resume_button, Qt.MouseButton.LeftButton)
    assert signal.args == [runs["wide-lr"]]


def test_delete_asks_then_removes_run_and_folder(qtbot, env, runs, monkeypatch) -> None:
    state, _ = env
    panel = make_panel(qtbot, env)
    folder = state.workspace.layout.run_dir(runs["lost"])
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "note.txt").write_text("x")
    asked = []
    monkeypatch.setattr(panel, "_confirm", lambda text: asked.append(text) or False)
    click_run(qtbot, panel, "lost")
    qtbot.mouseClick(panel.toolbar.delete_button, Qt.MouseButton.LeftButton)
    assert "lost" in asked[0] and state.store.get_run(runs["lost"]) is not None and folder.exists()
    monkeypatch.setattr(panel, "_confirm", lambda text: True)
    with qtbot.waitSignal(state.runs_changed):
        qtbot.mouseClick(panel.toolbar.delete_button, Qt.MouseButton.LeftButton)
    assert state.store.get_run(runs["lost"]) is None and not folder.exists()
    details = panel.tabs.details
    assert "lost" not in column(panel, NAME) and details.name_edit.text() == "" and not details.save_button.isEnabled()
    state.store.set_status(runs["wide-lr"], "running")  # a live run is refused, with a visible reason
    state.runs_changed.emit()
    click_run(qtbot, panel, "wide-lr")
    monkeypatch.setattr(panel, "_confirm", lambda text: asked.append(text) or True)
    qtbot.mouseClick(panel.toolbar.delete_button, Qt.MouseButton.LeftButton)
    assert "running now: press Stop on the Train panel first" in panel.message.text()
    assert len(asked) == 1 and state.store.get_run(runs["wide-lr"]) is not None  # warned first, not asked


def test_export_writes_the_cli_csv_rows(qtbot, env, runs, monkeypatch, tmp_path) -> None:
    state, _ = env
    panel = make_panel(qtbot, env)
    target = tmp_path / "out.csv"
    monkeypatch.setattr(panel, "_ask_save_path", lambda suggested: str(target))
    select_runs(qtbot, panel, "wide-lr", "lost")
    qtbot.mouseClick(panel.toolbar.export_button, Qt.MouseButton.LeftButton)
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["run_id", "key", "step", "value", "wall_time"]
    expected = [[str(run_id), p.key, str(p.step), repr(p.value), str(p.wall_time)]
                for run_id in (runs["lost"], runs["wide-lr"]) for p in state.store.metrics(run_id)]
    assert sorted(rows[1:]) == sorted(expected) and len(rows) - 1 == len(expected)
    assert f"{len(expected):,} metric rows" in panel.message.text()


def test_compare_draws_each_run_in_its_own_colour(qtbot, env, runs) -> None:
    panel = make_panel(qtbot, env)
    click_run(qtbot, panel, "baseline")
    assert not panel.toolbar.compare_button.isEnabled()
    select_runs(qtbot, panel, "baseline", "wide-lr", "lost")
    qtbot.mouseClick(panel.toolbar.compare_button, Qt.MouseButton.LeftButton)
    chart = panel.tabs.compare_chart
    assert panel.tabs.currentWidget() is chart
    names = chart.curve_names()
    assert names == ["lost · training", "wide-lr · validation", "wide-lr · training",  # "lost" has no validation yet
                     "baseline · validation", "baseline · training"]
    assert [label.text for _, label in chart.legend.items] == names
    training = [item for item in chart.getPlotItem().listDataItems() if item.name().endswith("training")]
    assert len({item.opts["pen"].color().name() for item in training}) == 3


def test_compare_overlays_objectives_with_what_each_loss_counts(qtbot, env, runs, tmp_path) -> None:
    state, _ = env
    for name, objective, val_start in (("causal", "clm", 4.4), ("replaced", "electra", 4.2)):
        config = run_config()
        config["train"]["objective"] = objective
        run = state.store.create_run(name, "pretrain", config, None, None, preset="tiny", device="CPU")
        log_curves(state.store, run.id, 100, val_start=val_start)
        state.store.set_status(run.id, "completed")
    panel = make_panel(qtbot, env)
    select_runs(qtbot, panel, "baseline", "causal", "replaced")
    qtbot.mouseClick(panel.toolbar.compare_button, Qt.MouseButton.LeftButton)
    names = panel.tabs.compare_chart.curve_names()
    assert "causal (clm) · validation" in names and "baseline · training" in names
    # ELECTRA's training loss (generator + 50 x discriminator) is not on the masked-LM scale: validation only
    assert [n for n in names if n.startswith("replaced")] == ["replaced (electra) · validation"]
    text = panel.message.text()
    assert "CLM: val loss: cross-entropy per next token" in text and "MLM: val loss: cross-entropy per masked" in text
    panel.resize(1280, 720)
    panel.grab().save(str(tmp_path / "runs-compare-objectives.png"))


def test_poll_shows_a_running_runs_progress(qtbot, env, runs) -> None:
    state, _ = env
    panel = make_panel(qtbot, env)
    click_run(qtbot, panel, "wide-lr")
    writer = RunStore.open(state.store.db_path)  # as a training process elsewhere would
    try:
        writer.set_status(runs["wide-lr"], "running")
        writer.log_metrics(runs["wide-lr"], [("train_loss", 70, 5.5, 3000), ("val_loss", 70, 3.0, 3000)])
    finally:
        writer.close()
    qtbot.waitUntil(lambda: "70 / 100" in column(panel, STEPS), timeout=5000)
    assert panel.tabs.details.info.text().count("running") == 1 and not panel.toolbar.resume_button.isEnabled()
    assert panel.tabs.curves.loss.getPlotItem().listDataItems()[1].getData()[0][-1] == 70


def test_real_tiny_run(qtbot, env) -> None:
    from workbench.jobs.corpora import get_corpus
    from workbench.jobs.pretrain import start_pretraining
    from workbench.jobs.tokenizers import train_tokenizer_for
    from workbench.jobs.workspace import Workspace
    from workbench.settings.tokenizer import TokenizerConfig
    from workbench.settings.train import TrainConfig

    state, _ = env
    with Workspace(state.home) as ws:
        tokenizer = train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=500))
        train = TrainConfig(steps=30, batch_size=8, eval_every=15, eval_batches=2, log_every=5, warmup_steps=5,
                            device="cpu")
        spec = PretrainSpec(tokenizer_id=tokenizer.id, model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=train, name="real")
        run, result = start_pretraining(ws, spec)
    assert result.status == "completed"
    state.runs_changed.emit()
    panel = make_panel(qtbot, env)
    assert column(panel, NAME) == ["real"] and column(panel, STEPS) == ["30 / 30"]
    assert column(panel, BEST) == [f"{run.best_val_loss:.4f}"]
    click_run(qtbot, panel, "real")
    assert panel.tabs.checkpoints.rowCount() == 1 and panel.tabs.checkpoints.item(0, 0).text() == "30"
    assert Path(panel.tabs.checkpoints.item(0, 4).text(), "model.safetensors").exists()
    assert panel.tabs.curves.loss.curve_names() == ["train", "validation", "unigram baseline"]
    model = panel.tabs.details.config_tree.topLevelItem(0)
    assert model.text(0) == "model"
    fields = {model.child(i).text(0): model.child(i).text(1) for i in range(model.childCount())}
    assert fields["hidden_size"] == "100" and fields["vocab_size"] == str(tokenizer.vocab_size)
    assert not panel.toolbar.resume_button.isEnabled()  # completed


HOLD_RUNNING = """
import sys, time
from workbench.store import RunStore
with RunStore.open(sys.argv[1]) as store:
    store.set_status(int(sys.argv[2]), "running")
    store.beat(int(sys.argv[2]))
print("running", flush=True)
time.sleep(60)
"""


def test_poll_shows_a_killed_runs_process_as_interrupted(qtbot, env, runs) -> None:
    """Issue 14 item 2: the panel's own poll shows it, with no command run and nothing written."""
    state, _ = env
    panel = make_panel(qtbot, env)
    status = COLUMNS.index("Status")
    trainer = subprocess.Popen([sys.executable, "-c", HOLD_RUNNING, str(state.store.db_path), str(runs["wide-lr"])],
                               stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2])
    try:
        assert trainer.stdout.readline().strip() == "running"
        row = column(panel, NAME).index("wide-lr")
        qtbot.waitUntil(lambda: panel.proxy.index(row, status).data() == "running", timeout=5000)
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait()
    qtbot.waitUntil(lambda: panel.proxy.index(column(panel, NAME).index("wide-lr"), status).data() == "interrupted",
                    timeout=15000)


def test_a_chart_keeps_its_legend_off_the_curves_and_forgets_an_empty_run(qtbot) -> None:
    """Issue 15 item 6: legends covered the curves; an empty chart kept the last run's ranges."""
    chart = MetricChart("Loss", "cross-entropy")
    qtbot.addWidget(chart)
    chart.resize(500, 300)
    chart.show()
    qtbot.waitExposed(chart)
    steps = np.arange(1, 101, dtype=float)
    chart.add_curve("train", (steps, np.full(100, 5.0)), "#1f77b4")  # flat: a legend at the top right covers it
    chart.add_curve("validation", (steps, np.full(100, 4.0)), "#ff7f0e")
    chart.fit()
    top = chart.getPlotItem().vb.mapViewToScene(QPointF(100.0, 5.0)).y()
    assert chart.legend.sceneBoundingRect().bottom() <= top
    chart.clear_curves()
    chart.fit()
    assert chart.getPlotItem().viewRange() == [[0.0, 1.0], [0.0, 1.0]]
