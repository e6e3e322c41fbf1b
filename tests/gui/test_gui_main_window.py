"""The real main window driven as a user would: add a corpus, train a tokenizer, set masking and a model, start
a run, watch the loss curve get points, pause, resume, stop, find the run in the Runs table, compare two runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from workbench.gui.main_window import PANEL_INDEX, PANELS, MainWindow
from workbench.gui.workers import Task
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents

pytestmark = pytest.mark.slow
WAIT = 120_000  # ms; the machine is small and may be busy


def click(qtbot, button) -> None:
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def train_points(window: MainWindow) -> int:
    return len(window.train.curves.live["train_loss"])


def run_until_stopped(qtbot, window: MainWindow, min_points: int) -> int:
    click(qtbot, window.train.controls.start_button)
    qtbot.waitUntil(lambda: train_points(window) >= min_points, timeout=WAIT)
    click(qtbot, window.train.controls.stop_button)
    qtbot.waitUntil(lambda: window.train.task is None, timeout=WAIT)
    return window.train.run_id


def test_a_user_trains_watches_and_compares(qtbot, window: MainWindow, tmp_path: Path) -> None:
    store = window.state.store
    corpus_file = tmp_path / "animals.txt"
    corpus_file.write_text("\n\n".join(generate_documents(400, seed=5)) + "\n", encoding="utf-8")

    window.show_panel(PANEL_INDEX["data"])  # Data: the path a file dialog or a drop would give
    window.data.add_paths([str(corpus_file)])
    qtbot.waitUntil(lambda: store.get_corpus("animals") is not None, timeout=WAIT)
    qtbot.waitUntil(lambda: window.state.corpus_name == "animals", timeout=WAIT)

    window.show_panel(PANEL_INDEX["tokenizer"])  # Tokenizer: a small WordPiece
    window.tokenizer.training.vocab_size.setValue(300)
    click(qtbot, window.tokenizer.training.train_button)
    corpus_id = store.get_corpus("animals").id
    qtbot.waitUntil(lambda: bool(store.list_tokenizers(corpus_id=corpus_id)), timeout=WAIT)

    window.show_panel(PANEL_INDEX["masking"])  # Masking: 20%, whole words
    window.masking.form.rate_slider.setValue(20)
    window.masking.form.strategy_combo.setCurrentText("whole-word")
    assert window.state.masking.mlm_probability == pytest.approx(0.20)
    assert window.state.masking.strategy == "whole-word"

    window.show_panel(PANEL_INDEX["model"])  # Model: the smallest preset, short sequences
    window.model.preset_combo.setCurrentText("seed-demo")
    window.model.spins["max_position_embeddings"].setValue(32)
    assert window.state.model_error is None and window.state.model.max_position_embeddings == 32

    window.show_panel(PANEL_INDEX["train"])  # Train
    settings = window.train.settings
    settings.editor("steps").setValue(2000)
    settings.editor("batch_size").setValue(8)
    settings.editor("log_every").setValue(1)
    settings.editor("eval_every").setValue(20)
    settings.editor("device").setCurrentText("cpu")
    click(qtbot, window.train.controls.start_button)
    qtbot.waitUntil(lambda: train_points(window) >= 5, timeout=WAIT)

    click(qtbot, window.train.controls.pause_button)
    qtbot.waitUntil(lambda: window.train.phase == "paused", timeout=WAIT)
    frozen = train_points(window)
    qtbot.wait(1500)
    assert train_points(window) == frozen  # paused means no steps
    assert store.get_run(window.train.run_id).status == "paused"
    click(qtbot, window.train.controls.pause_button)  # the same button resumes
    qtbot.waitUntil(lambda: train_points(window) > frozen, timeout=WAIT)

    click(qtbot, window.train.controls.stop_button)
    qtbot.waitUntil(lambda: window.train.task is None, timeout=WAIT)
    first = window.train.run_id
    assert store.get_run(first).status == "stopped"
    assert store.latest_checkpoint(first) is not None

    settings.editor("seed").setValue(1)
    second = run_until_stopped(qtbot, window, min_points=5)
    assert second != first

    window.show_panel(PANEL_INDEX["runs"])  # Runs: both runs with their status, compared on one chart
    window.runs.refresh()
    names = {run.id: run.name for run in store.list_runs()}
    qtbot.waitUntil(lambda: window.runs.model.row_of(first) is not None, timeout=WAIT)
    window.runs.table.select_ids([first, second], second)
    assert {run.id for run in window.runs.table.selected_runs()} == {first, second}
    click(qtbot, window.runs.toolbar.compare_button)
    legend = " ".join(window.runs.tabs.compare_chart.curve_names())
    assert names[first] in legend and names[second] in legend


def test_no_display_prints_what_to_do() -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    code = "import sys; from workbench.gui.app import run_app; sys.exit(run_app())"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "xvfb-run" in result.stderr and "QT_QPA_PLATFORM=offscreen" in result.stderr


def test_quick_start_puts_a_learning_curve_on_screen(qtbot, window: MainWindow) -> None:
    """First start, empty home: one click trains the sample's tokenizer and a tiny model with live curves."""
    window.quick_start()
    assert window.stack.currentWidget() is window.train
    qtbot.waitUntil(lambda: train_points(window) >= 3, timeout=WAIT)
    run = window.state.store.get_run(window.train.run_id)
    assert run.status == "running" and run.preset == "tiny" and run.config["data"]["corpus"] == "sample"


def test_the_quick_start_option_starts_training_once_the_window_is_painted(qtbot, home: Path) -> None:
    """`mlm-workbench --quick-start`, the launcher's Quick Start action: the window first, then the training."""
    window = MainWindow(home, quick_start=True)
    assert "training" not in window.runner.activity()
    window.show()
    qtbot.waitUntil(lambda: "training" in window.runner.activity(), timeout=WAIT)
    assert window.stack.currentWidget() is window.train
    window.confirm_stop_running = lambda: True
    window.close()
    assert not window.runner.running()
    window.deleteLater()


def test_closing_during_a_run_asks_then_stops_with_a_checkpoint(qtbot, window: MainWindow) -> None:
    window.quick_start()
    qtbot.waitUntil(lambda: train_points(window) >= 2, timeout=WAIT)
    run_id = window.train.run_id

    window.confirm_stop_running = lambda: False  # "Cancel": the window stays, training goes on
    window.close()
    assert window.isVisible() and window.runner.running()
    points = train_points(window)
    qtbot.waitUntil(lambda: train_points(window) > points, timeout=WAIT)

    window.confirm_stop_running = lambda: True  # "Stop and close"
    window.close()
    assert not window.isVisible() and not window.runner.running()
    assert "saves its checkpoint" in window.statusBar().currentMessage()  # said while the window waited
    with Workspace(window.state.home) as ws:  # the database is consistent for the next start
        assert ws.store.get_run(run_id).status == "stopped"
        assert ws.store.latest_checkpoint(run_id) is not None


def test_choices_and_recent_files_are_remembered(qtbot, home: Path, tmp_path: Path) -> None:
    corpus_file = tmp_path / "animals.txt"
    corpus_file.write_text("\n\n".join(generate_documents(50, seed=2)) + "\n", encoding="utf-8")
    first = MainWindow(home)
    first.data.add_paths([str(corpus_file)])
    qtbot.waitUntil(lambda: first.state.corpus_name == "animals", timeout=WAIT)
    first.masking.form.rate_slider.setValue(25)
    first.model.preset_combo.setCurrentText("mini")
    first.train.settings.editor("steps").setValue(1234)
    first.show_panel(PANEL_INDEX["model"])
    first.close()

    second = MainWindow(home)
    try:
        assert second.state.corpus_name == "animals"
        assert second.state.masking.mlm_probability == pytest.approx(0.25)
        assert second.state.model.preset == "mini" and second.model.preset_combo.currentText() == "mini"
        assert second.train.settings.editor("steps").value() == 1234
        assert second.stack.currentWidget() is second.model
        second.data.adder._fill_recent_menu()
        assert [a.data() for a in second.data.adder.recent_menu.actions()] == [str(corpus_file)]
    finally:
        second.confirm_stop_running = lambda: True
        second.close()


def test_panels_are_built_after_the_first_paint(qtbot, home: Path) -> None:
    window = MainWindow(home)
    assert window._built[0] is not None and window._built[1:] == [None] * 8  # only the panel shown first
    window.show()
    qtbot.waitUntil(lambda: all(panel is not None for panel in window._built), timeout=WAIT)
    assert [window.stack.widget(i) for i in range(len(PANELS))] == [panel for _, panel in window.panels]
    assert window.stack.currentWidget() is window.start  # a fresh home opens on the start page
    window.close()
    window.deleteLater()


def test_closing_asks_only_about_work_the_user_would_lose(qtbot, home: Path) -> None:
    window = MainWindow(home)
    window.show()
    preview = window.runner.start(Task("preview", lambda task: task.control.stopped.wait(60)))
    asked = []
    window.confirm_stop_running = lambda: asked.append(True) or True
    window.close()  # a preview is running: closing stops it without a question
    assert asked == [] and not window.isVisible() and not window.runner.running()
    assert preview.control.stopped.is_set()
    window.deleteLater()
