"""The Data panel: add files or folders as a corpus (file dialogs or drag and drop), see every corpus with its
statistics, the problems its files had, and a preview of its first documents; choose the corpus to work on.

Scanning a corpus can take a while, so adding, removing and previewing run as background tasks; the bundled
sample corpus is registered by one at start. The AppState calls the sample `None`: selecting the "sample" row
sets `state.set_corpus(None)`, any other row its name. The "Add a corpus" box is `data_add`, the preview and
problems `data_details`; this module holds the list of corpora and composes them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.notify import notify_window
from workbench.gui.panels.data_add import AddCorpusBox
from workbench.gui.panels.data_details import CorpusDetails
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, ensure_sample_registered, remove_corpus
from workbench.jobs.workspace import in_workspace
from workbench.store.records import CorpusRecord
from workbench.views.browse import is_skipped

STATS = (("documents", "Documents"), ("lines", "Lines"), ("characters", "Characters"), ("words", "Words"),
         ("unique_words", "Unique words"))


class DataPanel(QWidget):
    """The "Add a corpus" box (`adder`), the list of corpora, and the selected one's preview and problems
    (`details`)."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.records: dict[str, CorpusRecord] = {}
        self.setAcceptDrops(True)
        self.adder = AddCorpusBox(state, runner)
        self.details = CorpusDetails(runner)
        self._build()
        state.corpora_changed.connect(self.refresh)
        state.corpus_changed.connect(self._on_state_corpus)
        self.refresh()
        self._register_sample()

    def _build(self) -> None:
        self.table = QTableWidget(0, 2 + len(STATS))
        self.table.setHorizontalHeaderLabels(["Name", *(title for _, title in STATS), "Problems"])
        self.table.setToolTip("Your corpora. Select one to train tokenizers and models on it.")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.remove_button = QPushButton("Remove corpus…")
        self.remove_button.setToolTip("Forget the selected corpus and its tokenizers; your files are not deleted. "
                                      "The bundled sample cannot be removed.")
        self.remove_button.clicked.connect(self.remove_selected)
        list_box = QGroupBox("Corpora")
        list_layout = QVBoxLayout(list_box)
        list_layout.addWidget(self.table)
        list_layout.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignLeft)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(list_box)
        splitter.addWidget(self.details)
        splitter.setSizes([220, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(self.adder)
        layout.addWidget(splitter, 1)

    # ---- the list ----------------------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Reload the corpora from the store and keep the current corpus selected."""
        self.records = {record.name: record for record in self.state.store.list_corpora()}
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records.values()):
            self._fill_row(row, record)
        self.table.blockSignals(False)
        self._select(self.state.corpus_name)

    def _fill_row(self, row: int, record: CorpusRecord) -> None:
        name = QTableWidgetItem(record.name)
        if record.name == SAMPLE_CORPUS_NAME:
            name.setToolTip("The bundled sample corpus: works with no files of your own.")
        self.table.setItem(row, 0, name)
        for column, (key, _) in enumerate(STATS, start=1):
            item = QTableWidgetItem(f"{int(record.stats.get(key, 0)):,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table.setItem(row, column, item)
        skipped = sum(map(is_skipped, record.problems))
        text = f"{len(record.problems)}" + (f" ({skipped} file{'s' * (skipped != 1)} skipped)" if skipped else "")
        self.table.setItem(row, len(STATS) + 1, QTableWidgetItem(text if record.problems else "none"))

    def _select(self, corpus_name: str | None) -> None:
        name = corpus_name or SAMPLE_CORPUS_NAME
        names = list(self.records)
        if name in names:
            self.table.selectRow(names.index(name))
        else:
            self.table.clearSelection()
        self._show(self.records.get(name))

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    @Slot()
    def _on_selection_changed(self) -> None:
        name = self.selected_name()
        if name is None:
            return
        self.state.set_corpus(None if name == SAMPLE_CORPUS_NAME else name)
        self._show(self.records.get(name))

    @Slot(object)
    def _on_state_corpus(self, corpus_name: str | None) -> None:
        if self.selected_name() != (corpus_name or SAMPLE_CORPUS_NAME):
            self._select(corpus_name)

    def _show(self, record: CorpusRecord | None) -> None:
        self.remove_button.setEnabled(record is not None and record.name != SAMPLE_CORPUS_NAME)
        self.details.show_corpus(record)

    # ---- adding ----------------------------------------------------------------------------------------------

    @Slot(list)
    def add_paths(self, paths: list[str]) -> None:
        """Scan `paths` in the background and record them as one corpus (what the dialogs and drops call)."""
        self.adder.add_paths(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    # ---- the sample and removing -----------------------------------------------------------------------------

    def _register_sample(self) -> None:
        home = self.state.home
        task = Task("register sample corpus", lambda task: in_workspace(home, ensure_sample_registered).name)
        task.succeeded.connect(self._on_sample_registered)
        task.failed.connect(self._on_sample_failed)
        self.runner.start(task)

    @Slot(object)
    def _on_sample_registered(self, name: str) -> None:
        if name not in self.records:
            self.state.corpora_changed.emit()

    @Slot(str, str)
    def _on_sample_failed(self, message: str, details: str) -> None:
        self.refresh()
        if SAMPLE_CORPUS_NAME not in self.records:  # else another panel's task registered it first
            self.adder.say(f"The bundled sample corpus could not be set up: {message}", error=True)

    @Slot()
    def remove_selected(self) -> None:
        record = self.records.get(self.selected_name() or "")
        if record is None or record.name == SAMPLE_CORPUS_NAME:
            return
        answer = QMessageBox.question(
            self, "Remove corpus",
            f"Remove the corpus {record.name!r} and the tokenizers trained on it? Your files stay where they are; "
            "runs trained on it keep their history.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return
        home, corpus_id, name = self.state.home, record.id, record.name

        def work(task: Task) -> str:
            in_workspace(home, remove_corpus, corpus_id)
            return name

        task = Task("remove corpus", work)
        task.succeeded.connect(self._on_removed)
        task.failed.connect(self._on_remove_failed)
        self.remove_button.setEnabled(False)
        self.runner.start(task)

    @Slot(object)
    def _on_removed(self, name: str) -> None:
        self.adder.say(f"Removed {name!r} (its files were not touched).")
        if self.state.corpus_name == name:
            self.state.set_corpus(None)
        self.state.corpora_changed.emit()
        self.state.tokenizers_changed.emit()

    @Slot(str, str)
    def _on_remove_failed(self, message: str, details: str) -> None:
        self.adder.say(f"Could not remove the corpus: {message}", error=True)
        notify_window(self, f"Could not remove the corpus: {message}", details)
        self._select(self.state.corpus_name)


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(DataPanel)
