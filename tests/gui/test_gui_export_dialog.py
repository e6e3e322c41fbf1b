"""The Runs panel's "Export model…" on a real tiny run: the dialog writes a Hugging Face folder and an ONNX export
with an int8 copy, shows the files and the "verified" line that the CLI prints, refuses a folder in use with the
CLI's one line and writes nothing, and is offered only for one run that has a checkpoint."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from probe_harness import RUN
from PySide6.QtCore import QStandardPaths, Qt

from workbench.gui.export_dialog import ExportDialog
from workbench.gui.panels.runs_panel import RunsPanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.errors import UserError
from workbench.jobs.export_run import export_run
from workbench.jobs.export import TOLERANCE
from workbench.jobs.workspace import Workspace

TIMEOUT = 60_000


@pytest.fixture
def panel(qtbot, trained_home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(trained_home), TaskRunner()
    panel = RunsPanel(state, runner)
    qtbot.addWidget(panel)
    panel.show()
    yield panel
    runner.shutdown()
    state.close()


def select(panel: RunsPanel, name: str) -> None:
    [run] = [run for run in panel.model.runs if run.name == name]
    panel.select_run(run.id)


def open_export(qtbot, panel: RunsPanel) -> ExportDialog:
    select(panel, RUN)
    button = panel.toolbar.export_model_button
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dialog = panel.findChild(ExportDialog)
    assert dialog is not None and dialog.isVisible()
    return dialog


def export(qtbot, dialog: ExportDialog, folder: Path, format_index: int) -> None:
    dialog.format.setCurrentIndex(format_index)
    dialog.folder.setText(str(folder))
    qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.task is not None and not dialog.export_button.isEnabled()  # busy while it works
    qtbot.waitUntil(lambda: dialog.task is None, timeout=TIMEOUT)


def test_hugging_face_export_shows_the_verified_line(qtbot, panel: RunsPanel, tmp_path: Path):
    dialog = open_export(qtbot, panel)
    assert dialog.checkpoint.currentData() is None and "20 steps" in dialog.checkpoint.currentText()
    assert [dialog.checkpoint.itemData(i) for i in range(1, dialog.checkpoint.count())] == [20, 10]
    dialog.checkpoint.setCurrentIndex(2)  # step 10
    export(qtbot, dialog, tmp_path / "hf", 0)
    message = dialog.message.text()
    difference = float(re.search(r"^Done: verified: max logit difference ([0-9.e-]+)[;.]", message).group(1))
    assert difference <= TOLERANCE
    report = dialog.report.toPlainText()
    assert f"exported run '{RUN}' at step 10 as BertForMaskedLM" in report
    assert dialog.exported.verified_line in report and "config.json" in report and "model.safetensors" in report
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md"} <= {p.name for p in
                                                                                (tmp_path / "hf").iterdir()}


def test_onnx_export_with_int8_reports_the_agreement(qtbot, panel: RunsPanel, tmp_path: Path):
    pytest.importorskip("onnxruntime")
    dialog = open_export(qtbot, panel)
    export(qtbot, dialog, tmp_path / "onnx", 2)
    assert dialog.message.text().startswith("Done: verified: max logit difference")
    report = dialog.report.toPlainText()
    assert "model.onnx" in report and "model.int8.onnx" in report and "int8: top-1 agreement" in report
    assert (tmp_path / "onnx" / "model.int8.onnx").stat().st_size > 0


def test_a_folder_in_use_is_refused_with_the_cli_line(qtbot, panel: RunsPanel, tmp_path: Path, trained_home: Path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    with Workspace.open(str(trained_home)) as ws, pytest.raises(UserError) as cli:
        export_run(ws, RUN, None, used, "hf")
    dialog = open_export(qtbot, panel)
    export(qtbot, dialog, used, 0)
    assert dialog.message.text() == str(cli.value)
    assert dialog.exported is None and dialog.report.toPlainText() == ""
    assert [p.name for p in used.iterdir()] == ["notes.txt"] and [p.name for p in tmp_path.iterdir()] == ["used"]
    assert dialog.export_button.isEnabled()  # another try


def test_the_suggested_folder_is_new_and_follows_the_format(qtbot, panel: RunsPanel):
    dialog = open_export(qtbot, panel)
    suggested = Path(dialog.folder.text())
    assert suggested.name == f"{RUN}-hf" and not (suggested.exists() and any(suggested.iterdir()))
    dialog.format.setCurrentIndex(1)
    assert Path(dialog.folder.text()).name == f"{RUN}-onnx"
    dialog.folder.setText("/somewhere/of/mine")
    dialog.format.setCurrentIndex(0)
    assert dialog.folder.text() == "/somewhere/of/mine"  # the user's own folder is kept


def test_offered_only_for_one_run_with_a_checkpoint(qtbot, panel: RunsPanel):
    empty = panel.state.store.create_run("empty", "pretrain", {}, None, None, preset="tiny", device="CPU")
    panel.refresh()
    select(panel, "empty")
    assert not panel.toolbar.export_model_button.isEnabled()
    panel.table.selectAll()
    assert not panel.toolbar.export_model_button.isEnabled()
    select(panel, RUN)
    assert panel.toolbar.export_model_button.isEnabled()
    panel.state.store.delete_run(empty.id)
