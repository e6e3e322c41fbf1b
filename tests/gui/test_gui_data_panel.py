"""The Data panel, driven as a user would: add files (dialog slot and drag and drop), see stats, problems and a
preview, choose a corpus, remove one."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QMimeData, QPointF, QStandardPaths, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from workbench.core.corpus import iter_documents  # noqa: E402
from workbench.gui.panels.data_panel import DataPanel  # noqa: E402
from workbench.gui.state import AppState  # noqa: E402
from workbench.gui.workers import TaskRunner  # noqa: E402
from workbench.samples.corpus import sample_corpus_path  # noqa: E402

TIMEOUT = 20_000


@pytest.fixture
def panel(qtbot, home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    widget = DataPanel(state, runner)
    qtbot.addWidget(widget)
    widget.resize(1100, 750)
    widget.show()
    qtbot.waitUntil(lambda: "sample" in widget.records, timeout=TIMEOUT)
    yield widget
    runner.shutdown()
    state.close()


def _row(panel: DataPanel, name: str) -> list[str]:
    for row in range(panel.table.rowCount()):
        if panel.table.item(row, 0).text() == name:
            return [panel.table.item(row, c).text() for c in range(panel.table.columnCount())]
    raise AssertionError(f"{name!r} is not in the list")


def _select(panel: DataPanel, name: str) -> None:
    panel.table.selectRow([panel.table.item(r, 0).text() for r in range(panel.table.rowCount())].index(name))


def test_added_files_appear_with_their_stats_and_the_broken_files_problem(qtbot, panel: DataPanel, tmp_path):
    (tmp_path / "good.txt").write_text("the first document\n\nthe second one here\n", encoding="utf-8")
    (tmp_path / "broken.jsonl").write_bytes(b"\x00\x9f\x92 not text at all \x00\xff" * 30)
    panel.add_paths([str(tmp_path / "good.txt"), str(tmp_path / "broken.jsonl")])
    assert panel.adder.busy.isVisible() and not panel.adder.add_files_button.isEnabled()
    qtbot.waitUntil(lambda: "good" in panel.records, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: panel.adder.task is None, timeout=TIMEOUT)
    assert _row(panel, "good")[:6] == ["good", "2", "3", "37", "7", "6"]
    assert "1 file skipped" in _row(panel, "good")[6]
    assert panel.state.corpus_name == "good" and panel.selected_name() == "good"
    assert panel.details.problems.isVisible() and "broken.jsonl" in panel.details.problems.toPlainText()
    assert "file skipped" in panel.details.problems.toPlainText() and "skipped" in panel.details.problems_box.title()
    assert "Added 'good'" in panel.adder.message.text() and "1 file skipped" in panel.adder.message.text()
    stored = panel.state.store.get_corpus("good")
    assert stored.stats["documents"] == 2 and any("broken.jsonl" in p for p in stored.problems)
    qtbot.waitUntil(lambda: "document 2" in panel.details.preview.toPlainText(), timeout=TIMEOUT)
    assert "the second one here" in panel.details.preview.toPlainText()
    assert panel.adder.add_files_button.isEnabled() and not panel.adder.busy.isVisible()


def test_a_drop_of_a_folder_adds_it_with_the_chosen_options(qtbot, panel: DataPanel, tmp_path):
    folder = tmp_path / "lines"
    folder.mkdir()
    (folder / "a.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    (folder / "b.csv").write_text("id,body\n1,hello there\n2,general\n", encoding="utf-8")
    panel.adder.name_edit.setText("dropped")
    panel.adder.doc_mode.setCurrentText("line")
    panel.adder.column_edit.setText("body")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    enter = QDragEnterEvent(panel.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(panel.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(panel, drop)
    qtbot.waitUntil(lambda: "dropped" in panel.records, timeout=TIMEOUT)
    assert _row(panel, "dropped")[1] == "5"  # three lines + two CSV rows
    assert panel.records["dropped"].options["doc_mode"] == "line"
    assert panel.records["dropped"].options["column"] == "body"
    assert panel.details.problems_box.title().startswith("Problems: none") and panel.adder.name_edit.text() == ""


def test_a_corpus_with_nothing_readable_is_refused_with_the_reason_shown(qtbot, panel: DataPanel, tmp_path):
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    panel.add_paths([str(tmp_path / "empty.txt")])
    qtbot.waitUntil(lambda: panel.adder.task is None, timeout=TIMEOUT)
    assert "Could not add the corpus" in panel.adder.message.text() and "empty file" in panel.adder.message.text()
    assert panel.adder.message.isVisible() and set(panel.records) == {"sample"}


def test_selecting_the_sample_previews_its_first_documents(qtbot, panel: DataPanel):
    _select(panel, "sample")
    assert panel.state.corpus_name is None and not panel.remove_button.isEnabled()
    qtbot.waitUntil(lambda: "document 20" in panel.details.preview.toPlainText(), timeout=TIMEOUT)
    first = next(iter_documents([sample_corpus_path()]))
    assert first in panel.details.preview.toPlainText() and "document 21" not in panel.details.preview.toPlainText()
    assert "first 20 documents" in panel.details.preview_box.title()
    assert _row(panel, "sample")[1] == f"{panel.records['sample'].stats['documents']:,}"


def test_removing_a_corpus_asks_first_and_falls_back_to_the_sample(qtbot, panel: DataPanel, tmp_path, monkeypatch):
    (tmp_path / "gone.md").write_text("# title\n\nsome words\n", encoding="utf-8")
    panel.add_paths([str(tmp_path / "gone.md")])
    qtbot.waitUntil(lambda: panel.state.corpus_name == "gone", timeout=TIMEOUT)
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kw: QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "gone" in panel.records and panel.state.store.get_corpus("gone") is not None
    monkeypatch.setattr(QMessageBox, "question", lambda *args, **kw: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.state.corpora_changed, timeout=TIMEOUT):
        qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "gone" not in panel.records and panel.state.store.get_corpus("gone") is None
    assert panel.state.corpus_name is None and panel.selected_name() == "sample"
    assert "Removed 'gone'" in panel.adder.message.text()
