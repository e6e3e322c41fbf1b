""""Open a Hugging Face model…" in the real main window, on a fake Hugging Face cache (HF_HOME) laid out as
huggingface_hub lays it out, with tiny real models: the dialog lists the cache's models, opening one takes two
clicks (select + Open, or a double-click) and the run appears in the Runs table and in the Probe panel's run
picker, loaded; a bad folder shows the importer's one line (the CLI's) and leaves no run behind. The window records
the bundled demo model in its fresh home first, so the Probe panel is never empty there; its empty page (where
there is no model at all) is tested on a panel of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_folders import cache_snapshot, make_bad_folder, make_hf_folder
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton
from shiboken6 import isValid

from workbench.gui.main_window import PANEL_INDEX, MainWindow
from workbench.gui.open_hf_dialog import BUTTON_TEXT, OpenHFDialog
from workbench.gui.panels.probe_panel import ProbePanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.demo_model import find_demo_run
from workbench.jobs.errors import UserError
from workbench.jobs.interop import import_model
from workbench.jobs.workspace import Workspace

pytest.importorskip("transformers")
TIMEOUT = 20_000


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    for family in ("bert", "roberta"):
        make_hf_folder(root / family, family)
    return {family: root / family for family in ("bert", "roberta")}


@pytest.fixture
def hf_home(sources, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Hugging Face cache with a BERT, a RoBERTa and an ALBERT (refused), found through HF_HOME."""
    hf_home = tmp_path / "hf-home"
    cache_snapshot(hf_home / "hub", "tiny-org/tiny-bert", sources["bert"])
    cache_snapshot(hf_home / "hub", "tiny-org/tiny-roberta", sources["roberta"])
    modern = cache_snapshot(hf_home / "hub", "albert/albert-base-v2", sources["bert"])
    config = json.loads((modern / "config.json").read_text())
    (modern / "config.json").unlink()
    (modern / "config.json").write_text(json.dumps({**config, "architectures": ["AlbertForMaskedLM"]}))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HOME", str(hf_home))
    return hf_home


@pytest.fixture
def window(qtbot, home: Path, hf_home: Path):
    window = MainWindow(home)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: getattr(find_demo_run(window.state.store), "status", "") == "completed",
                    timeout=TIMEOUT)  # recorded with all its checkpoints
    yield window
    window.confirm_stop_running = lambda: True
    window.close()
    window.deleteLater()


def open_dialog(qtbot, panel) -> OpenHFDialog:
    [button] = [b for b in panel.findChildren(QPushButton) if b.text() == BUTTON_TEXT]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = panel.findChild(OpenHFDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def rows(dialog: OpenHFDialog) -> list[list[str]]:
    items = [dialog.table.topLevelItem(r) for r in range(dialog.table.topLevelItemCount())]
    return [[item.text(c) for c in range(dialog.table.columnCount())] for item in items]


def click_row(qtbot, dialog: OpenHFDialog, row: int, double: bool = False) -> None:
    table = dialog.table
    rect = table.visualItemRect(table.topLevelItem(row))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    if double:
        qtbot.mouseDClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_the_empty_probe_page_links_to_the_dialog(qtbot, home: Path, hf_home: Path) -> None:
    """Where there is no model at all (no run, no demo model recorded), the empty page offers the dialog."""
    state, runner = AppState(home), TaskRunner()
    probe = ProbePanel(state, runner)
    qtbot.addWidget(probe)
    assert probe.stack.currentWidget() is probe.empty and "open a Hugging Face model" in probe.empty.text()
    probe.empty.linkActivated.emit("open-hf")  # the empty page's link opens the same dialog as the button
    dialog = probe.findChild(OpenHFDialog)
    assert dialog is not None and dialog.isVisible() and rows(dialog)[0][0] == "tiny-org/tiny-bert"
    dialog.reject()
    runner.shutdown()
    state.close()


def test_the_probe_panel_opens_a_cached_model_in_two_clicks(qtbot, window: MainWindow) -> None:
    window.show_panel(PANEL_INDEX["probe"])
    probe = window.probe
    assert probe.stack.currentIndex() == 1 and probe.primary.run.currentText().startswith("demo")
    dialog = open_dialog(qtbot, probe)
    assert [row[:2] for row in rows(dialog)] == [["tiny-org/tiny-bert", "BertForMaskedLM"],
                                                 ["tiny-org/tiny-roberta", "RobertaForMaskedLM"],
                                                 ["albert/albert-base-v2", "AlbertForMaskedLM"]]
    assert all(row[2].endswith("k") and row[3].endswith("KB") for row in rows(dialog)[:2])
    click_row(qtbot, dialog, 2)  # the refused one says why and cannot be opened
    assert not dialog.open_button.isEnabled()
    assert "AlbertForMaskedLM is not supported" in dialog.message.text()
    click_row(qtbot, dialog, 1)
    assert dialog.open_button.isEnabled() and dialog.message.text() == ""
    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not isValid(dialog) or not dialog.isVisible(), timeout=TIMEOUT)  # closed, or deleted
    run = dialog.imported
    assert (run.name, run.kind, run.status) == ("tiny-roberta", "imported", "completed")
    assert probe.stack.currentIndex() == 1 and probe.primary.run.currentData() == run.id
    qtbot.waitUntil(lambda: [m.run_name for m in probe.context.models] == ["tiny-roberta"], timeout=TIMEOUT)
    assert run.id in [r.id for r in window.runs.model.runs]


def test_the_runs_panel_opens_one_with_a_double_click_and_selects_it(qtbot, window: MainWindow) -> None:
    window.show_panel(PANEL_INDEX["runs"])
    dialog = open_dialog(qtbot, window.runs)
    assert dialog.open_button.isDefault() and dialog.focusWidget() is dialog.table  # Enter opens the selection
    click_row(qtbot, dialog, 0, double=True)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=TIMEOUT)
    assert [run.name for run in window.runs.table.selected_runs()] == ["tiny-bert"]
    assert window.probe.primary.run.currentData() == dialog.imported.id


def test_a_bad_folder_shows_the_importers_line_and_leaves_no_run(qtbot, window: MainWindow, sources,
                                                                 tmp_path: Path) -> None:
    bad = make_bad_folder(sources["bert"], tmp_path, "missing-keys")
    with Workspace(tmp_path / "other-home") as ws, pytest.raises(UserError) as refused:
        import_model(ws, bad)  # what the CLI prints after "mlm-workbench: error: "
    window.show_panel(PANEL_INDEX["runs"])
    dialog = open_dialog(qtbot, window.runs)
    dialog._ask_folder = lambda: str(bad)
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.busy.isVisible() and not dialog.browse_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=TIMEOUT)
    assert dialog.isVisible() and dialog.message.text() == str(refused.value)
    assert "lack 16 keys" in dialog.message.text() and not dialog.busy.isVisible()
    demo = find_demo_run(window.state.store)  # the only run, as before the refused import
    assert window.state.store.list_runs() == [demo] and window.runs.model.runs == [demo]
    assert [p.name for p in (window.state.home / "runs").iterdir()] == [f"run-{demo.id:05d}"]
    assert dialog.browse_button.isEnabled() and dialog.open_button.isEnabled()
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()


def test_an_empty_cache_says_where_it_looked(qtbot, home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "no-downloads"))
    state, runner = AppState(home), TaskRunner()
    dialog = OpenHFDialog(state, runner)
    qtbot.addWidget(dialog)
    assert dialog.table.topLevelItemCount() == 0 and not dialog.open_button.isEnabled()
    assert f"No models in your Hugging Face cache ({tmp_path / 'no-downloads'})" in dialog.where.text()
    assert dialog.browse_button.isEnabled()
    runner.shutdown()
    state.close()
