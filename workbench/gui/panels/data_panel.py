"""The Data panel: add files or folders as a corpus (file dialogs or drag and drop), see every corpus with its
statistics, the problems its files had, and a preview of its first documents; choose the corpus to work on.

Scanning a corpus can take a while, so adding, removing and previewing run as background tasks; the bundled
sample corpus is registered by one at start. The AppState calls the sample `None`: selecting the "sample" row
sets `state.set_corpus(None)`, any other row its name.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.corpus import DOC_MODES, CorpusOptions
from workbench.gui.notify import notify_window
from workbench.gui.session import add_recent, recent_paths
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, add_corpus, ensure_sample_registered
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import CorpusRecord
from workbench.views.browse import PREVIEW_DOCUMENTS, free_corpus_name, preview_documents

STATS = (("documents", "Documents"), ("lines", "Lines"), ("characters", "Characters"), ("words", "Words"),
         ("unique_words", "Unique words"))
FILE_FILTER = "Corpus files (*.txt *.md *.jsonl *.csv *.tsv *.gz);;All files (*)"
ERROR_STYLE = "color: #b00020;"


def _skipped(problem: str) -> bool:
    return problem.endswith("; file skipped")  # how core.corpus.Problem writes a fatal problem


class DataPanel(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.records: dict[str, CorpusRecord] = {}
        self._adding: Task | None = None
        self._adding_paths: list[str] = []
        self._previewing_id: int | None = None  # the corpus whose preview is wanted; older results are dropped
        self.setAcceptDrops(True)
        self._build()
        state.corpora_changed.connect(self.refresh)
        state.corpus_changed.connect(self._on_state_corpus)
        self.refresh()
        self._register_sample()

    # ---- layout ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.addWidget(self._build_add_box())
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
        splitter.addWidget(self._build_details())
        splitter.setSizes([220, 380])
        layout.addWidget(splitter, 1)

    def _build_add_box(self) -> QGroupBox:
        box = QGroupBox("Add a corpus")
        self.add_files_button = QPushButton("Add files…")
        self.add_files_button.setToolTip("Choose one or more text files (.txt, .md, .jsonl, .csv, .tsv, each may be "
                                         ".gz) to add together as one corpus.")
        self.add_files_button.clicked.connect(self.choose_files)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Choose a folder: every supported file in it and its subfolders becomes "
                                          "part of one corpus.")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.recent_button = QPushButton("Recent")
        self.recent_button.setToolTip("Add again a file or folder you added before.")
        self.recent_menu = QMenu(self.recent_button)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.recent_button.setMenu(self.recent_menu)
        self.name_edit = QLineEdit(placeholderText="from the first file's name")
        self.name_edit.setToolTip("The name this corpus gets in the list; leave it empty to use the first file's name.")
        self.doc_mode = QComboBox()
        self.doc_mode.addItems(DOC_MODES)
        self.doc_mode.setToolTip("How .txt and .md files are cut into documents: at blank lines (paragraphs), "
                                 "or one document per line.")
        self.field_edit = QLineEdit("text")
        self.field_edit.setToolTip("For .jsonl files: the name of the field that holds each document's text.")
        self.column_edit = QLineEdit("text")
        self.column_edit.setToolTip("For .csv and .tsv files: the header of the column that holds each document's "
                                    "text.")
        form = QGridLayout()
        fields = (("Name", self.name_edit), ("Documents in .txt/.md", self.doc_mode),
                  ("JSONL field", self.field_edit), ("CSV/TSV column", self.column_edit))
        for n, (label, widget) in enumerate(fields):
            widget.setMinimumWidth(200)
            widget.setMaximumWidth(280)
            form.addWidget(QLabel(label), n // 2, 2 * (n % 2), Qt.AlignmentFlag.AlignRight)
            form.addWidget(widget, n // 2, 2 * (n % 2) + 1)
        form.setColumnStretch(4, 1)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_files_button)
        buttons.addWidget(self.add_folder_button)
        buttons.addWidget(self.recent_button)
        hint = QLabel("…or drop files and folders\nanywhere on this panel.")
        hint.setStyleSheet("color: palette(mid);")
        buttons.addWidget(hint)
        buttons.addStretch(1)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # scanning reports no progress: a busy indicator
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status = QHBoxLayout()
        status.addWidget(self.busy)
        status.addWidget(self.message, 1)
        top = QHBoxLayout()
        top.addLayout(buttons)
        top.addSpacing(12)
        top.addLayout(form, 1)
        layout = QVBoxLayout(box)
        layout.addLayout(top)
        layout.addLayout(status)
        return box

    def _build_details(self) -> QWidget:
        self.preview = QPlainTextEdit(readOnly=True)
        self.preview.setToolTip(f"The first {PREVIEW_DOCUMENTS} documents of the selected corpus, as training sees "
                                "them.")
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.preview_box = QGroupBox("Preview")
        QVBoxLayout(self.preview_box).addWidget(self.preview)
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems = QPlainTextEdit(readOnly=True)
        self.problems.setToolTip("Files that were skipped and lines that were left out, with the reason for each.")
        self.problems.setPlaceholderText("No problems: every file was read and every line was used.")
        self.problems_box = QGroupBox("Problems")
        problems_layout = QVBoxLayout(self.problems_box)
        problems_layout.addWidget(self.details)
        problems_layout.addWidget(self.problems, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.preview_box)
        splitter.addWidget(self.problems_box)
        splitter.setSizes([600, 400])
        return splitter

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
        skipped = sum(_skipped(p) for p in record.problems)
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

    # ---- details and preview -------------------------------------------------------------------------------

    def _show(self, record: CorpusRecord | None) -> None:
        self.remove_button.setEnabled(record is not None and record.name != SAMPLE_CORPUS_NAME)
        if record is None:
            self.details.setText("Select a corpus to see its files and problems.")
            self.problems.setPlainText("")
            self.preview.setPlainText("")
            self.problems_box.setTitle("Problems")
            self.preview_box.setTitle("Preview")
            self._previewing_id = None
            return
        options = record.options
        self.details.setText(f"Files: {'; '.join(record.paths)}\nDocuments in .txt/.md: {options.get('doc_mode')} · "
                             f"JSONL field: {options.get('field')} · CSV/TSV column: {options.get('column')}")
        skipped = sum(_skipped(p) for p in record.problems)
        title = f"Problems: {len(record.problems)}" + (f", {skipped} file{'s' * (skipped != 1)} skipped"
                                                       if skipped else "")
        self.problems_box.setTitle(title if record.problems else "Problems: none, every file was read")
        skipped_first = sorted(record.problems, key=lambda problem: not _skipped(problem))
        self.problems.setPlainText("\n".join(f"• {problem}" for problem in skipped_first))
        if self._previewing_id != record.id:
            self._start_preview(record)

    def _start_preview(self, record: CorpusRecord) -> None:
        self._previewing_id = record.id
        self.preview_box.setTitle(f"Preview of {record.name!r}: loading…")
        self.preview.setPlainText("")
        task = Task("corpus preview", lambda task: (record.id, preview_documents(record)))
        task.succeeded.connect(self._on_preview)
        task.failed.connect(self._on_preview_failed)
        self.runner.start(task)

    @Slot(object)
    def _on_preview(self, result: tuple[int, list[str]]) -> None:
        corpus_id, documents = result
        if corpus_id != self._previewing_id:
            return
        name = next((r.name for r in self.records.values() if r.id == corpus_id), "")
        self.preview_box.setTitle(f"Preview of {name!r}: the first {len(documents)} documents")
        blocks = [f"── document {n} ──\n{doc}" for n, doc in enumerate(documents, start=1)]
        self.preview.setPlainText("\n\n".join(blocks) or "No documents could be read: see Problems.")

    @Slot(str, str)
    def _on_preview_failed(self, message: str, details: str) -> None:
        self.preview_box.setTitle("Preview")
        self.preview.setPlainText(f"The preview could not be read: {message}")

    # ---- adding ----------------------------------------------------------------------------------------------

    @Slot()
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Add files as a corpus", "", FILE_FILTER)
        if paths:
            self.add_paths(paths)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder as a corpus")
        if folder:
            self.add_paths([folder])

    @Slot()
    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = recent_paths(self.state.settings)
        for path in paths:
            action = self.recent_menu.addAction(path)
            action.setData(path)
            action.triggered.connect(self._add_recent)
        if not paths:
            self.recent_menu.addAction("(nothing added yet)").setEnabled(False)

    @Slot()
    def _add_recent(self) -> None:
        self.add_paths([self.sender().data()])

    def options(self) -> CorpusOptions:
        return CorpusOptions(doc_mode=self.doc_mode.currentText(), field=self.field_edit.text().strip() or "text",
                             column=self.column_edit.text().strip() or "text")

    @Slot(list)
    def add_paths(self, paths: list[str]) -> None:
        """Scan `paths` in the background and record them as one corpus (what the dialogs and drops call)."""
        if self._adding is not None:
            self._say("Wait for the corpus being added to finish, then add the next one.", error=True)
            return
        paths, wanted, options, home = [str(p) for p in paths], self.name_edit.text(), self.options(), self.state.home
        self._adding_paths = paths

        def work(task: Task) -> CorpusRecord:
            task.report("reading", 0, None)
            with Workspace(home) as ws:
                name = free_corpus_name(ws.store, paths, wanted)
                return add_corpus(ws, paths, name, options)[0]

        self._adding = Task("add corpus", work, ask_before_closing=True)
        self._adding.succeeded.connect(self._on_added)
        self._adding.failed.connect(self._on_add_failed)
        self._adding.done.connect(self._on_add_done)
        self._set_adding(True)
        files = f"{len(paths)} file{'s' * (len(paths) != 1)} or folder{'s' * (len(paths) != 1)}"
        self._say(f"Reading {files}: counting documents and checking every file…")
        self.runner.start(self._adding)

    def _set_adding(self, adding: bool) -> None:
        self.busy.setVisible(adding)
        self.add_files_button.setEnabled(not adding)
        self.add_folder_button.setEnabled(not adding)

    @Slot(object)
    def _on_added(self, record: CorpusRecord) -> None:
        skipped = sum(_skipped(p) for p in record.problems)
        note = ""
        if record.problems:
            note = f"; {len(record.problems)} problem{'s' * (len(record.problems) != 1)}"
            note += f" ({skipped} file{'s' * (skipped != 1)} skipped)" if skipped else ""
            note += ", listed under Problems"
        self._say(f"Added {record.name!r}: {record.stats['documents']:,} documents, "
                  f"{record.stats['words']:,} words{note}.", error=bool(skipped))
        self.name_edit.clear()
        add_recent(self.state.settings, self._adding_paths)
        self.state.corpora_changed.emit()
        self.state.set_corpus(record.name)

    @Slot(str, str)
    def _on_add_failed(self, message: str, details: str) -> None:
        self._say(f"Could not add the corpus: {message}", error=True)
        notify_window(self, f"Could not add the corpus: {message}", details)

    @Slot()
    def _on_add_done(self) -> None:
        self._adding = None
        self._set_adding(False)

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

        def work(task: Task) -> str:
            with Workspace(home) as ws:
                return ensure_sample_registered(ws).name

        task = Task("register sample corpus", work)
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
            self._say(f"The bundled sample corpus could not be set up: {message}", error=True)

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
        home, corpus_id = self.state.home, record.id

        def work(task: Task) -> str:
            with Workspace(home) as ws:
                ws.store.delete_corpus(corpus_id)
            return record.name

        task = Task("remove corpus", work)
        task.succeeded.connect(self._on_removed)
        task.failed.connect(self._on_remove_failed)
        self.remove_button.setEnabled(False)
        self.runner.start(task)

    @Slot(object)
    def _on_removed(self, name: str) -> None:
        self._say(f"Removed {name!r} (its files were not touched).")
        if self.state.corpus_name == name:
            self.state.set_corpus(None)
        self.state.corpora_changed.emit()
        self.state.tokenizers_changed.emit()

    @Slot(str, str)
    def _on_remove_failed(self, message: str, details: str) -> None:
        self._say(f"Could not remove the corpus: {message}", error=True)
        notify_window(self, f"Could not remove the corpus: {message}", details)
        self._select(self.state.corpus_name)

    # ---- messages --------------------------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)



if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(DataPanel)
