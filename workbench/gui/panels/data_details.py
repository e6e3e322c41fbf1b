"""The Data panel's lower half: the selected corpus' first documents (read in the background, a newer selection's
preview winning) and its files, reading options and problems, the skipped files first.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QGroupBox, QLabel, QPlainTextEdit, QSplitter, QVBoxLayout, QWidget

from workbench.gui.workers import Task, TaskRunner
from workbench.store.records import CorpusRecord
from workbench.views.browse import PREVIEW_DOCUMENTS, is_skipped, preview_documents


class CorpusDetails(QSplitter):
    """Preview on the left, files and problems on the right; `show_corpus(record)` fills both."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.runner = runner
        self._previewing: CorpusRecord | None = None  # the corpus whose preview is wanted; older results are dropped
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
        self.addWidget(self.preview_box)
        self.addWidget(self.problems_box)
        self.setSizes([600, 400])

    def show_corpus(self, record: CorpusRecord | None) -> None:
        """Show `record`'s files and problems, and preview it unless its preview is already shown or coming."""
        if record is None:
            self.details.setText("Select a corpus to see its files and problems.")
            self.problems.setPlainText("")
            self.preview.setPlainText("")
            self.problems_box.setTitle("Problems")
            self.preview_box.setTitle("Preview")
            self._previewing = None
            return
        options = record.options
        self.details.setText(f"Files: {'; '.join(record.paths)}\nDocuments in .txt/.md: {options.get('doc_mode')} · "
                             f"JSONL field: {options.get('field')} · CSV/TSV column: {options.get('column')}")
        skipped = sum(map(is_skipped, record.problems))
        title = f"Problems: {len(record.problems)}" + (f", {skipped} file{'s' * (skipped != 1)} skipped"
                                                       if skipped else "")
        self.problems_box.setTitle(title if record.problems else "Problems: none, every file was read")
        skipped_first = sorted(record.problems, key=lambda problem: not is_skipped(problem))
        self.problems.setPlainText("\n".join(f"• {problem}" for problem in skipped_first))
        if self._previewing is None or self._previewing.id != record.id:
            self._start_preview(record)

    def _start_preview(self, record: CorpusRecord) -> None:
        self._previewing = record
        self.preview_box.setTitle(f"Preview of {record.name!r}: loading…")
        self.preview.setPlainText("")
        task = Task("corpus preview", lambda task: (record.id, preview_documents(record)))
        task.succeeded.connect(self._on_preview)
        task.failed.connect(self._on_preview_failed)
        self.runner.start(task)

    @Slot(object)
    def _on_preview(self, result: tuple[int, list[str]]) -> None:
        corpus_id, documents = result
        if self._previewing is None or corpus_id != self._previewing.id:
            return
        self.preview_box.setTitle(f"Preview of {self._previewing.name!r}: the first {len(documents)} documents")
        blocks = [f"── document {n} ──\n{doc}" for n, doc in enumerate(documents, start=1)]
        self.preview.setPlainText("\n\n".join(blocks) or "No documents could be read: see Problems.")

    @Slot(str, str)
    def _on_preview_failed(self, message: str, details: str) -> None:
        self.preview_box.setTitle("Preview")
        self.preview.setPlainText(f"The preview could not be read: {message}")
