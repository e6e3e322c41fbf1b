"""The Data panel's "Add a corpus" box: file and folder dialogs, recently added paths, the reading options, and
the background task that scans the files and records them (`workbench.jobs.corpora.add_corpus_unique`).

Its message line is the panel's: adding, removing and setting up the sample all report there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.corpus import DOC_MODES, CorpusOptions
from workbench.gui.notify import notify_window
from workbench.gui.session import add_recent, recent_paths
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.corpora import add_corpus_unique
from workbench.jobs.workspace import in_workspace
from workbench.store.records import CorpusRecord
from workbench.views.browse import is_skipped

FILE_FILTER = "Corpus files (*.txt *.md *.jsonl *.csv *.tsv *.gz);;All files (*)"
ERROR_STYLE = "color: #b00020;"


class AddCorpusBox(QGroupBox):
    """Choose files or a folder and how to read them; `add_paths` scans and records them in the background."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Add a corpus", parent)
        self.state, self.runner = state, runner
        self.task: Task | None = None  # the corpus being added; one at a time
        self._paths: list[str] = []
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
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # scanning reports no progress: a busy indicator
        self.busy.setMaximumWidth(160)
        self.busy.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._lay_out()

    def _lay_out(self) -> None:
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
        for button in (self.add_files_button, self.add_folder_button, self.recent_button):
            buttons.addWidget(button)
        hint = QLabel("…or drop files and folders\nanywhere on this panel.")
        hint.setStyleSheet("color: palette(mid);")
        buttons.addWidget(hint)
        buttons.addStretch(1)
        status = QHBoxLayout()
        status.addWidget(self.busy)
        status.addWidget(self.message, 1)
        top = QHBoxLayout()
        top.addLayout(buttons)
        top.addSpacing(12)
        top.addLayout(form, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(status)

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

    def add_paths(self, paths: list[str]) -> None:
        """Scan `paths` in the background and record them as one corpus (what the dialogs and drops call)."""
        if self.task is not None:
            self.say("Wait for the corpus being added to finish, then add the next one.", error=True)
            return
        paths, wanted, options, home = [str(p) for p in paths], self.name_edit.text(), self.options(), self.state.home
        self._paths = paths

        def work(task: Task) -> CorpusRecord:
            task.report("reading", 0, None)
            return in_workspace(home, add_corpus_unique, paths, wanted, options)

        self.task = Task("add corpus", work, ask_before_closing=True)
        self.task.succeeded.connect(self._on_added)
        self.task.failed.connect(self._on_add_failed)
        self.task.done.connect(self._on_add_done)
        self._set_adding(True)
        files = f"{len(paths)} file{'s' * (len(paths) != 1)} or folder{'s' * (len(paths) != 1)}"
        self.say(f"Reading {files}: counting documents and checking every file…")
        self.runner.start(self.task)

    def _set_adding(self, adding: bool) -> None:
        self.busy.setVisible(adding)
        self.add_files_button.setEnabled(not adding)
        self.add_folder_button.setEnabled(not adding)

    @Slot(object)
    def _on_added(self, record: CorpusRecord) -> None:
        skipped = sum(map(is_skipped, record.problems))
        note = ""
        if record.problems:
            note = f"; {len(record.problems)} problem{'s' * (len(record.problems) != 1)}"
            note += f" ({skipped} file{'s' * (skipped != 1)} skipped)" if skipped else ""
            note += ", listed under Problems"
        self.say(f"Added {record.name!r}: {record.stats['documents']:,} documents, "
                 f"{record.stats['words']:,} words{note}.", error=bool(skipped))
        self.name_edit.clear()
        add_recent(self.state.settings, self._paths)
        self.state.corpora_changed.emit()
        self.state.set_corpus(record.name)

    @Slot(str, str)
    def _on_add_failed(self, message: str, details: str) -> None:
        self.say(f"Could not add the corpus: {message}", error=True)
        notify_window(self, f"Could not add the corpus: {message}", details)

    @Slot()
    def _on_add_done(self) -> None:
        self.task = None
        self._set_adding(False)

    def say(self, text: str, error: bool = False) -> None:
        """Show `text` on the panel's message line (in red for an error)."""
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)
