"""The Train panel driven as a user would: start, pause, resume, stop, resume a run, failures, quick start, and
the live plots (overlays, redraw only on new data, hover read-out, axis toggles)."""

from __future__ import annotations

import math
import os
import shlex
import shutil
import signal
from dataclasses import replace
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

import torch  # noqa: E402
from PySide6.QtCore import QPointF, QStandardPaths, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QMainWindow,
    QWidget,
)

from workbench.cli.main import build_parser  # noqa: E402
from workbench.cli.train_cmd import spec_from_args  # noqa: E402
from workbench.core.devices import available_devices, available_precisions  # noqa: E402
from workbench.core.training_types import EvalEvent, StepEvent, TrainResult  # noqa: E402
from workbench.gui.live_plots import LiveCurves  # noqa: E402
from workbench.gui.panels.train_panel import TrainPanel  # noqa: E402
from workbench.gui.panels.tokenizer_panel import TokenizerPanel  # noqa: E402
from workbench.gui.panels.train_settings import TrainSettings  # noqa: E402
from workbench.gui.state import AppState  # noqa: E402
from workbench.gui.workers import TaskRunner  # noqa: E402
from workbench.jobs.background import training_threads  # noqa: E402
from workbench.jobs.corpora import get_corpus  # noqa: E402
from workbench.jobs.pretrain import prepare_data  # noqa: E402
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_for  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.base import format_default  # noqa: E402
from workbench.settings.model import ModelSpec  # noqa: E402
from workbench.settings.tokenizer import TokenizerConfig  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus with a 500-token tokenizer and its encoded blocks, made once and copied per test."""
    home = tmp_path_factory.mktemp("prepared-home")
    with Workspace(home) as ws:
        corpus = get_corpus(ws, None)
        tokenizer = train_tokenizer_for(ws, corpus, TokenizerConfig(vocab_size=500))
        prepare_data(ws, corpus, load_tokenizer(tokenizer), max_len=32, val_fraction=0.02)
    return home


class Host(QMainWindow):
    """A window that offers `show_error`, as MainWindow does."""

    def __init__(self, panel: TrainPanel) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.setCentralWidget(panel)

    def show_error(self, message: str, details: str = "") -> None:
        self.errors.append(message)


@pytest.fixture
def panel(home: Path, prepared_home: Path, qtbot):
    QStandardPaths.setTestModeEnabled(True)
    shutil.copytree(prepared_home, home, dirs_exist_ok=True)
    state, runner = AppState(home), TaskRunner()
    state.set_model(ModelSpec(preset="seed-demo", max_position_embeddings=32))
    panel = TrainPanel(state, runner)
    host = Host(panel)
    qtbot.addWidget(host)
    s = panel.settings
    s.editor("steps").setValue(5000)
    s.editor("batch_size").setValue(8)
    s.editor("log_every").setValue(1)
    s.editor("eval_every").setValue(20)
    s.editor("warmup_steps").setValue(10)
    s.editor("checkpoint_every").setValue(0)
    yield panel
    runner.shutdown()
    state.close()


def wait_until_idle(qtbot, panel: TrainPanel) -> None:
    qtbot.waitUntil(lambda: panel.task is None, timeout=WAIT_MS)


def test_start_pause_resume_stop_and_resume_the_run(panel: TrainPanel, qtbot) -> None:
    runs_changed = []
    panel.state.runs_changed.connect(lambda: runs_changed.append(1))
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    assert not panel.controls.start_button.isEnabled() and panel.controls.stop_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.curves.live["train_loss"]) >= 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(panel.curves.raw_item.xData if panel.curves.raw_item.xData is not None else ())
                    >= 3, timeout=2000)
    qtbot.waitUntil(lambda: panel.controls.progress.value() > 0, timeout=2000)
    assert "tokens/s" in panel.detail_label.text()

    qtbot.mouseClick(panel.controls.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.phase == "paused", timeout=WAIT_MS)
    assert "Paused" in panel.controls.status_label.text() and panel.controls.pause_button.text() == "Resume"
    paused_at = panel.curves.live.last_step
    qtbot.wait(400)
    assert panel.curves.live.last_step == paused_at

    qtbot.mouseClick(panel.controls.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.curves.live.last_step > paused_at, timeout=WAIT_MS)
    qtbot.mouseClick(panel.controls.stop_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, panel)
    assert panel.phase == "stopped" and "Stopped" in panel.controls.status_label.text()
    assert panel.controls.start_button.isEnabled() and runs_changed
    store = panel.state.store
    run = store.get_run(panel.run_id)
    checkpoint = store.latest_checkpoint(run.id)
    assert run.status == "stopped" and checkpoint is not None and checkpoint.step == panel.curves.live.last_step
    assert "Resume run" in panel.controls.status_label.text() and panel.controls.resume_button.isEnabled()
    relaunched = TrainPanel(panel.state, TaskRunner())  # the next session's panel mentions the stopped run
    qtbot.addWidget(relaunched)
    assert relaunched.controls.status_label.text().startswith(f"Run {run.name!r} was stopped at step "
                                                               f"{checkpoint.step:,}: press Resume run")
    assert relaunched.controls.resume_button.isEnabled()
    relaunched.ui_timer.stop()

    qtbot.mouseClick(panel.controls.resume_button, Qt.MouseButton.LeftButton)  # the earlier curve continues
    assert panel.task is not None and not panel.controls.resume_button.isEnabled()
    assert len(panel.curves.live["train_loss"]) == checkpoint.step
    qtbot.waitUntil(lambda: panel.curves.live.last_step > checkpoint.step, timeout=WAIT_MS)
    panel.stop()
    wait_until_idle(qtbot, panel)
    assert store.get_run(run.id).status == "stopped"
    assert store.latest_checkpoint(run.id).step > checkpoint.step


def test_start_is_disabled_while_the_model_is_invalid(panel: TrainPanel) -> None:
    panel.state.set_model(panel.state.model, "Attention heads must divide the hidden size 64")
    assert not panel.controls.start_button.isEnabled()
    assert "Model panel" in panel.blocked.text() and not panel.blocked.isHidden()
    assert not panel.start() and panel.task is None
    panel.state.set_model(ModelSpec(preset="tiny", max_position_embeddings=48))
    assert panel.controls.start_button.isEnabled() and panel.blocked.isHidden()
    summary = panel.summary.text()
    assert "tiny: 2 layers, hidden 128" in summary and "max_len 48" in summary and "wordpiece 500" in summary


def test_a_failing_run_shows_its_message_and_leaves_the_window_usable(panel: TrainPanel, qtbot) -> None:
    panel.state.set_corpus("no-such-corpus")
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, panel)
    assert panel.phase == "failed"
    assert "no corpus named 'no-such-corpus'" in panel.controls.status_label.text()
    assert any("no-such-corpus" in message for message in panel.window().errors)
    assert panel.controls.start_button.isEnabled() and panel.settings.isEnabled()
    assert panel.state.store.list_runs() == []  # nothing half-written


def test_a_killed_training_process_ends_the_run_as_interrupted(panel: TrainPanel, qtbot) -> None:
    """Training runs in a child process (workbench.jobs.background): its death ends that run, not the window."""
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.phase == "running" and panel.run_id is not None, timeout=WAIT_MS)
    pid = panel.state.store.get_run(panel.run_id).pid
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    wait_until_idle(qtbot, panel)
    assert panel.phase == "failed" and "ended unexpectedly" in panel.controls.status_label.text()
    assert panel.state.store.get_run(panel.run_id).status == "interrupted"  # resumable from the Runs panel
    assert panel.controls.start_button.isEnabled()


def test_quick_start_starts_a_demo_run(panel: TrainPanel, qtbot) -> None:
    assert panel.quick_start()
    config = panel.settings.config()
    assert (config.steps, config.batch_size, config.lr, config.warmup_steps, config.log_every) == (3000, 32, 1e-3,
                                                                                                   50, 5)
    assert not panel.quick_start()  # one run at a time
    qtbot.waitUntil(lambda: panel.phase == "running", timeout=WAIT_MS)
    panel.stop()
    wait_until_idle(qtbot, panel)
    assert panel.state.store.get_run(panel.run_id).status == "stopped"


def test_comparing_with_an_earlier_run_adds_a_legend_entry(panel: TrainPanel, qtbot) -> None:
    store = panel.state.store
    earlier = store.create_run(name="earlier", kind="pretrain", config={}, corpus_id=None, tokenizer_id=None)
    store.log_metrics(earlier.id, [("train_loss", s, 6.0 - s / 100, 1_700_000_000_000 + s) for s in range(1, 50)]
                      + [("val_loss", 40, 5.8, 1_700_000_000_040)])
    curves = panel.curves
    entries = len(curves.legend.items)
    qtbot.mouseClick(curves.compare_button, Qt.MouseButton.LeftButton)
    dialog = curves.compare_dialog
    assert dialog.list.count() == 1 and "earlier" in dialog.list.item(0).text()
    dialog.list.item(0).setSelected(True)
    dialog.accept()
    assert [o.name for o in curves.overlays] == ["earlier"]
    assert len(curves.legend.items) == entries + 1
    overlay_item = curves.overlays[0].items["train_loss"]
    qtbot.waitUntil(lambda: overlay_item.xData is not None and len(overlay_item.xData) == 49, timeout=2000)
    curves.compare_with([])
    assert len(curves.legend.items) == entries


def step_event(step: int, loss: float) -> StepEvent:
    return StepEvent(step, 100, loss, 1e-3 * step / 100, 1000.0, step * 0.5, (100 - step) * 0.5, 1.0)


def test_live_plots_redraw_only_when_data_changed(qtbot) -> None:
    curves = LiveCurves()
    qtbot.addWidget(curves)
    qtbot.waitUntil(lambda: curves.redraw_count == 1, timeout=2000)  # the empty first frame
    qtbot.wait(350)
    assert curves.redraw_count == 1
    curves.add_event(step_event(1, 6.0))
    curves.add_event(step_event(2, 5.5))
    assert curves.redraw_count == 1  # events only fill buffers
    qtbot.waitUntil(lambda: curves.redraw_count == 2, timeout=2000)
    qtbot.wait(350)
    assert curves.redraw_count == 2
    curves.log_y.setChecked(True)
    qtbot.waitUntil(lambda: curves.redraw_count == 3, timeout=2000)


def test_hover_time_axis_log_scale_and_baseline(qtbot) -> None:
    curves = LiveCurves()
    qtbot.addWidget(curves)
    curves.resize(900, 600)
    curves.show()
    for step in range(5, 55, 5):
        curves.add_event(step_event(step, 6.0 - step / 20))
    curves.add_event(EvalEvent(50, 4.0, 0.2, math.exp(4.0), 5.0))
    curves.fit()
    assert curves.baseline.isVisible() and curves.baseline.value() == 5.0
    plot = curves.plots["train_loss"]
    assert 50 <= plot.viewRange()[0][1] < 60  # the data's width, not the 100 planned steps (issue 15 item 6)
    scene_pos = plot.vb.mapViewToScene(QPointF(21.0, 5.0))
    curves.canvas.scene().sigMouseMoved.emit(scene_pos)
    assert curves.hover_label.text().startswith("Training loss at step 20 ")
    assert curves.vlines["lr"].isVisible() and curves.vlines["lr"].value() == 20.0

    curves.x_axis.setCurrentIndex(curves.x_axis.findData("time"))
    curves.log_y.setChecked(True)
    curves.fit()
    assert list(curves.raw_item.xData[:2]) == [2.5, 5.0]  # seconds of training
    assert curves.baseline.value() == pytest.approx(math.log10(5.0))
    assert plot.ctrl.logYCheck.isChecked() and not curves.plots["lr"].ctrl.logYCheck.isChecked()


def test_settings_form_round_trip_tooltips_and_learning_rate_box(qtbot) -> None:
    form = TrainSettings()
    qtbot.addWidget(form)
    config = TrainConfig(steps=77, batch_size=13, lr=3e-4, warmup_steps=7, schedule="cosine", weight_decay=0.05,
                         grad_clip=0.0, grad_accum=2, eval_every=0, checkpoint_every=9, log_every=3, seed=5)
    form.apply(config)
    device, precision = form.editor("device"), form.editor("precision")
    assert form.config() == replace(config, device=device.currentText(), precision="fp32")
    assert form.editor("grad_clip").text() == "off" and form.editor("eval_every").text() == "only at the end"
    assert [device.itemText(i) for i in range(device.count())] == available_devices()
    precisions = [precision.itemText(i) for i in range(precision.count())]
    assert precisions == available_precisions(torch.device(device.currentText()))
    for widget in form.findChildren(QWidget):
        if isinstance(widget, (QAbstractSpinBox, QComboBox, QLineEdit)) and widget.parent() is not None \
                and not isinstance(widget.parent(), QAbstractSpinBox):
            assert widget.toolTip(), widget
    for spec in TrainConfig.specs():  # every shown setting says what it does and its default, from its metadata
        if spec.name in form.fields:
            assert form.editor(spec.name).toolTip() == f"{spec.meta.help} Default: {format_default(spec)}."
    lr = form.editor("lr")
    lr.setValue(5e-4)
    lr.stepBy(1)
    assert lr.value() == pytest.approx(1e-3) and lr.text() == "0.001"
    lr.stepBy(-3)
    assert lr.value() == pytest.approx(1e-4)  # 5e-4, 2e-4, 1e-4
    lr.lineEdit().setText("3e-5")
    lr.interpretText()
    assert lr.value() == pytest.approx(3e-5)


def test_the_window_and_the_cli_build_the_same_run(panel: TrainPanel) -> None:
    """One seed covers weights, data order, dropout and masks in both front ends: the window used to mask with
    seed 0 whatever its Seed field said, so the same seed gave different runs in the GUI and the CLI."""
    panel.settings.editor("seed").setValue(7)
    window = panel.spec()
    argv = ["train", "--preset", "seed-demo", "--max-len", "32"]
    for spec in TrainConfig.specs():
        value = getattr(window.train, spec.name)
        if value is None:  # left out: the setting's own default
            continue
        argv += [spec.flag, *map(str, value)] if isinstance(value, tuple) else [spec.flag, str(value)]
    cli = spec_from_args(build_parser().parse_args(argv))
    assert window.masking.seed == window.train.seed == 7
    assert cli == window


def test_copy_command_gives_the_line_that_trains_this_run(panel: TrainPanel, qtbot) -> None:
    panel.settings.editor("seed").setValue(7)
    panel.settings.name.setText("from the window")
    assert panel.settings.processes.value() == 1  # no GPUs here: one process
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    line = QGuiApplication.clipboard().text()
    assert panel.controls.status_label.text() == f"Copied: {line}"
    words = shlex.split(line)
    assert words[:3] == ["mlm-workbench", "--home", str(panel.state.home)]
    assert spec_from_args(build_parser().parse_args(words[3:])) == panel.spec()
    assert not panel.settings.shard.isEnabled()  # one process has nothing to share the model with
    panel.settings.processes.set_value(4)
    assert panel.settings.shard.isEnabled()
    panel.settings.shard.set_value(True)
    qtbot.mouseClick(panel.copy_button, Qt.MouseButton.LeftButton)
    words = shlex.split(QGuiApplication.clipboard().text())
    assert words[1:6] == ["torchrun", "--standalone", "--nproc-per-node=4", "-m", "workbench"]
    assert words[-1] == "--shard"
    assert spec_from_args(build_parser().parse_args(words[6:])) == panel.spec()


@pytest.mark.slow
def test_two_processes_are_supervised_like_one(panel: TrainPanel, qtbot) -> None:
    """Processes 2: torchrun's ranks train, rank 0's curves arrive, Pause and Stop reach both."""
    panel.settings.processes.set_value(2)
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(panel.curves.live["train_loss"]) >= 3, timeout=WAIT_MS * 2)
    assert panel.phase == "running" and panel.run_id is not None
    qtbot.mouseClick(panel.controls.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.phase == "paused", timeout=WAIT_MS)
    paused_at = panel.curves.live.last_step
    qtbot.wait(1500)
    assert panel.curves.live.last_step == paused_at
    qtbot.mouseClick(panel.controls.stop_button, Qt.MouseButton.LeftButton)
    wait_until_idle(qtbot, panel)
    assert panel.phase == "stopped", panel.controls.status_label.text()
    run = panel.state.store.get_run(panel.run_id)
    assert run.status == "stopped" and run.config["processes"]["world_size"] == 2
    assert panel.state.store.latest_checkpoint(run.id).step == paused_at


def test_the_training_process_uses_the_cpu_threads_chosen(panel: TrainPanel, qtbot) -> None:
    """Issue 15 item 1: not a fixed one thread; all cores but one unless the user chooses."""
    assert panel.settings.cpu_threads() is None  # the default: training_threads() decides
    assert training_threads() == max(1, (os.cpu_count() or 1) - 1) and training_threads(3) == 3
    panel.settings.threads.set_value(2)
    assert panel.settings.cpu_threads() == 2
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.phase == "running" and panel.run_id is not None, timeout=WAIT_MS)
    panel.stop()
    wait_until_idle(qtbot, panel)
    assert panel.state.store.get_run(panel.run_id).device.endswith("2 threads)")


def test_status_lines_say_each_thing_once(panel: TrainPanel) -> None:
    """Issue 15 item 14: "Training: training …", "Completed: completed …", "Paused (paused at step 40)", folder
    names such as step-0000132."""
    result = TrainResult("completed", 3000, 2.0, 3.1, 0.25, 22.2, 5.0, 1e4, None, "")
    lines = [panel._phase_text("running", "3,000 steps on CPU (2 cores, 1 thread), fp32"),
             panel._phase_text("paused", "paused at step 40"), panel._phase_text("completed", "", result),
             panel._phase_text("stopped", "", replace(result, status="stopped", steps=132,
                                                       last_checkpoint=Path("runs/1/step-0000132")))]
    assert lines[:2] == ["Training: 3,000 steps on CPU (2 cores, 1 thread), fp32",
                         "Paused at step 40. Press Resume to continue."]
    assert lines[2].startswith("Completed 3,000 steps. Validation loss 3.100 (unigram baseline 5.000)")
    assert lines[3].startswith("Stopped at step 132.")
    for line in lines:
        words = line.lower().replace(":", "").replace(".", "").split()
        assert all(a != b for a, b in zip(words, words[1:])) and "step-0" not in line


def test_the_header_describes_the_running_run_not_the_next(panel: TrainPanel, qtbot) -> None:
    """Issue 15 item 4: changing the Model panel during a run changed the header of the run in progress."""
    assert panel.summary.text().startswith("<b>Next run:</b>") and "seed-demo" in panel.summary.text()
    qtbot.mouseClick(panel.controls.start_button, Qt.MouseButton.LeftButton)
    panel.state.set_model(ModelSpec(preset="tiny", max_position_embeddings=48))  # the next run's choice
    header = panel.summary.text()
    assert header.startswith("<b>Training now:</b>") and "seed-demo" in header and "tiny" not in header
    qtbot.waitUntil(lambda: panel.phase == "running" and panel.run_id is not None, timeout=WAIT_MS)
    panel.stop()
    wait_until_idle(qtbot, panel)
    assert panel.summary.text().startswith("<b>Next run:</b>") and "tiny: 2 layers" in panel.summary.text()
    run_id = panel.run_id
    panel.resume(run_id)  # a resumed run's header is its own, from its record
    header = panel.summary.text()
    assert header.startswith("<b>Training now:</b>") and "seed-demo" in header and "max_len 32" in header
    panel.stop()
    wait_until_idle(qtbot, panel)


def test_a_tokenizer_the_run_trained_appears_on_the_tokenizer_panel(home: Path, qtbot) -> None:
    """Issue 15 item 7: the first run on a corpus trains its tokenizer; the Tokenizer panel listed none."""
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    state.set_model(ModelSpec(preset="seed-demo", max_position_embeddings=32))
    tokenizers = TokenizerPanel(state, runner)
    panel = TrainPanel(state, runner)
    host = Host(panel)
    qtbot.addWidget(host)
    qtbot.addWidget(tokenizers)
    panel.settings.apply(TrainConfig(steps=5000, batch_size=8, eval_every=0, checkpoint_every=0, device="cpu"))
    assert tokenizers.table.rowCount() == 0 and "none yet" in panel.summary.text()
    assert panel.start()
    qtbot.waitUntil(lambda: panel.phase == "running" and panel.run_id is not None, timeout=WAIT_MS)
    assert tokenizers.table.rowCount() == 1 and tokenizers.table.item(0, 1).text() == "wordpiece"
    panel.stop()
    wait_until_idle(qtbot, panel)
    runner.shutdown()
    state.close()


def test_plots_keep_legend_and_baseline_label_clear_and_forget_the_last_run(qtbot) -> None:
    """Issue 15 item 6: the legend covered the curve, the baseline's label was cut off once the model beat it,
    and a new run kept the last one's crosshair, read-out and ranges."""
    curves = LiveCurves()
    qtbot.addWidget(curves)
    curves.resize(900, 600)
    curves.show()
    qtbot.waitExposed(curves)
    for step in range(1, 41):
        curves.add_event(step_event(step, 6.0 - step / 40))  # flat: a legend at the top right would cover it
    curves.add_event(EvalEvent(40, 3.0, 0.3, math.exp(3.0), 5.0))  # the model beats the unigram baseline
    curves.fit()
    qtbot.wait(50)  # the baseline's label takes its place after the view has changed
    loss = curves.plots["train_loss"]
    top_of_data = loss.vb.mapViewToScene(QPointF(1.0, 6.0 - 1 / 40)).y()
    assert curves.legend.sceneBoundingRect().bottom() <= top_of_data
    val = curves.plots["val_loss"]
    assert val.vb.sceneBoundingRect().contains(curves.baseline.label.sceneBoundingRect())

    curves.canvas.scene().sigMouseMoved.emit(loss.vb.mapViewToScene(QPointF(20.0, 5.0)))
    assert curves.vlines["train_loss"].isVisible() and "step 20" in curves.hover_label.text()
    curves.reset(name="next run")
    curves.fit()
    assert not any(vline.isVisible() for vline in curves.vlines.values())
    assert "step 20" not in curves.hover_label.text()
    assert loss.viewRange()[0] == pytest.approx([0.0, 1.0]) and val.viewRange()[1] == pytest.approx([0.0, 1.0])
