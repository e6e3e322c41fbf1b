"""File → Save project… and Open project… on the real window: a set-up made in the panels is saved, opened in a new
window on a fresh home elsewhere (the lesson folder copied, the original gone), and every panel shows it again; a
missing corpus file is named in a notification; `mlm-workbench open FILE` opens the window with the project."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence

from workbench.gui.main_window import PANEL_INDEX, MainWindow
from workbench.gui.panels.probe_texts import probe_texts
from workbench.jobs.corpora import add_corpus
from workbench.jobs.project import Setup, save_project
from workbench.jobs.project_file import ProbeTexts, ProjectSettings
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.model import ModelSpec
from workbench.settings.train import TrainConfig

WAIT = 120_000  # ms; the machine is small and may be busy
SENTENCE = "the farmer feeds the cow and the cow says moo."


def write_corpus(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(generate_documents(200, seed=5)) + "\n", encoding="utf-8")
    return path


def open_window(qtbot, home: Path, project: Path | None = None) -> MainWindow:
    QSettings("mlm-workbench", "mlm-workbench").clear()  # nothing remembered from the first window
    window = MainWindow(home, project=project)
    window.show()
    qtbot.waitExposed(window)
    return window


def close(window: MainWindow) -> None:
    window.confirm_stop_running = lambda: True
    window.close()
    window.deleteLater()


def fill_the_panels(qtbot, window: MainWindow, corpus: Path) -> None:
    """Data, Tokenizer, Masking, Model, Train and Probe set through their widgets, as a presenter would."""
    window.show_panel(PANEL_INDEX["data"])
    window.data.add_paths([str(corpus)])
    qtbot.waitUntil(lambda: window.state.corpus_name == "animals", timeout=WAIT)
    window.show_panel(PANEL_INDEX["tokenizer"])
    window.tokenizer.training.vocab_size.setValue(300)
    qtbot.mouseClick(window.tokenizer.training.train_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.state.tokenizer_id is not None, timeout=WAIT)
    window.masking.form.rate_slider.setValue(20)
    window.masking.form.strategy_combo.setCurrentText("whole-word")
    window.model.preset_combo.setCurrentText("mini")
    window.model.spins["max_position_embeddings"].setValue(64)
    settings = window.train.settings
    settings.editor("steps").setValue(1234)
    settings.editor("batch_size").setValue(8)
    settings.editor("schedule").setCurrentText("cosine")
    window.probe.fill.text.setText("lima is a city in [MASK].")
    window.probe.attention.text.setText(SENTENCE)
    window.probe.scoring.sentences.setPlainText("the cow says moo.\nthe cow says woof.")
    window.probe.neighbours.word.setText("dog")
    window.show_panel(PANEL_INDEX["masking"])  # the panel the project reopens on


def test_a_project_saved_in_one_window_fills_a_new_window_on_a_fresh_home(qtbot, window: MainWindow,
                                                                          tmp_path: Path) -> None:
    lesson = tmp_path / "lesson"
    fill_the_panels(qtbot, window, write_corpus(lesson / "animals.txt"))
    saved = window.projects.setup()
    assert saved.settings.masking.mlm_probability == pytest.approx(0.2) and saved.settings.model.preset == "mini"
    assert window.projects.save_to(lesson / "lesson.mlmwb")
    qtbot.waitUntil(lambda: window.projects.task is None, timeout=WAIT)
    assert (lesson / "lesson.mlmwb").is_file() and window.windowTitle().startswith("lesson.mlmwb")
    ids = window.tokenizer.tokenizer.encode(SENTENCE)

    elsewhere = tmp_path / "usb-stick"  # the other machine: the folder copied, the original gone, a fresh home
    shutil.copytree(lesson, elsewhere)
    shutil.rmtree(lesson)
    second = open_window(qtbot, tmp_path / "home-2")
    try:
        assert second.state.corpus_name is None and second.state.model == ModelSpec()
        assert second.projects.open_path(elsewhere / "lesson.mlmwb")
        qtbot.waitUntil(lambda: second.projects.task is None, timeout=WAIT)
        assert second.projects.notes_box is None  # everything restored as saved
        assert second.current_panel_name() == "masking"
        assert second.data.selected_name() == "animals"
        assert second.tokenizer.tokenizer_id == second.state.tokenizer_id is not None
        assert second.tokenizer.tokenizer.encode(SENTENCE) == ids  # the same tokenizer, not retrained
        assert second.masking.form.rate_slider.value() == 20
        assert second.masking.form.strategy_combo.currentText() == "whole-word"
        assert second.model.preset_combo.currentText() == "mini"
        assert second.model.spins["max_position_embeddings"].value() == 64
        assert second.train.settings.config() == saved.settings.train
        assert second.probe.fill.text.text() == "lima is a city in [MASK]."
        assert probe_texts(second.probe) == saved.settings.probe
        assert second.projects.setup().settings == saved.settings
        assert second.windowTitle().startswith("lesson.mlmwb")
    finally:
        close(second)


def test_a_missing_corpus_file_and_a_missing_device_are_named_and_the_rest_opens(qtbot, window: MainWindow, tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "lesson" / "animals.txt")
    settings = ProjectSettings(model=ModelSpec(preset="small"), train=TrainConfig(device="cuda:63", steps=77),
                               probe=ProbeTexts(fill_mask="the cow says [MASK]."))
    with Workspace(tmp_path / "home-1") as ws:
        add_corpus(ws, [corpus], "animals")
        path, _ = save_project(ws, tmp_path / "lesson" / "lesson.mlmwb", Setup("animals", None, settings))
    corpus.unlink()
    assert window.projects.open_path(path)
    qtbot.waitUntil(lambda: window.projects.notes_box is not None, timeout=WAIT)
    text = window.projects.notes_box.text()
    assert "animals.txt" in text and str(corpus) in text
    assert "device 'cuda:63' is not available on this machine" in text
    assert window.train.settings.config().steps == 77
    assert window.state.corpus_name is None and window.data.selected_name() == "sample"
    assert window.model.preset_combo.currentText() == "small"
    assert window.probe.fill.text.text() == "the cow says [MASK]."


def test_a_file_this_version_cannot_read_is_shown_in_one_line(qtbot, window: MainWindow, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(window, "show_error", lambda message, details="": shown.append(message))
    path = tmp_path / "new.mlmwb"
    path.write_text('{"format": "mlm-workbench-project", "version": 7}', encoding="utf-8")
    window.projects.open_path(path)
    qtbot.waitUntil(lambda: bool(shown), timeout=WAIT)
    assert "newer MLM Workbench" in shown[0] and "\n" not in shown[0]


def test_the_file_menu_and_its_shortcuts(window: MainWindow) -> None:
    (file_menu,) = [action.menu() for action in window.menuBar().actions() if action.text() == "&File"]
    texts = [action.text() for action in file_menu.actions() if not action.isSeparator()]
    assert texts == ["Open project…", "Open recent project", "Save project…", "Quit"]
    assert window.projects.open_action.shortcut() == QKeySequence("Ctrl+O")
    assert window.projects.save_action.shortcut() == QKeySequence("Ctrl+S")
    keys = [action.shortcut().toString() for action in window.findChildren(type(window.quit_action))
            if not action.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), keys  # no two actions of the window share a shortcut
    assert ("Ctrl+O", "Open project") in window.shortcut_rows()


def test_the_window_opens_the_project_it_is_started_with(qtbot, tmp_path: Path) -> None:
    """What `mlm-workbench open FILE` starts: the window, which opens the project once it is painted."""
    corpus = write_corpus(tmp_path / "lesson" / "animals.txt")
    with Workspace(tmp_path / "home-1") as ws:
        add_corpus(ws, [corpus], "animals")
        path, _ = save_project(ws, tmp_path / "lesson" / "lesson.mlmwb",
                               Setup("animals", None, ProjectSettings(panel="model")))
    window = open_window(qtbot, tmp_path / "home-2", project=path)
    try:
        qtbot.waitUntil(lambda: window.state.corpus_name == "animals" and window.projects.task is None, timeout=WAIT)
        assert window.current_panel_name() == "model" and window.projects.notes_box is None
    finally:
        close(window)

