"""The Tokenizer panel: train a tokenizer on the current corpus, pick one of its tokenizers, browse the
vocabulary (sortable by id or by how often each token occurs in the corpus) and watch typed text fall into pieces;
in the Lab tab (`tokenizer_lab`), compare tokenizers on a corpus or a pasted text.

Training and frequency counting run as background tasks; loading a tokenizer and cutting the typed text are fast
enough for the GUI thread. The training box is `tokenizer_train`, the vocabulary browser `tokenizer_vocab`, the
try-it box `tokenizer_live`; this module holds the list of the corpus' tokenizers and composes them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.panels.tokenizer_lab import TokenizerLab
from workbench.gui.panels.tokenizer_live import LiveBox
from workbench.gui.panels.tokenizer_train import ERROR_STYLE, TrainTokenizerBox
from workbench.gui.panels.tokenizer_vocab import VocabularyBox
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import load_tokenizer
from workbench.store.records import TokenizerRecord


class TokenizerPanel(QWidget):
    """The training box (`training`) and the tokenizer list on the left; on the right, the try-it box (`live`)
    and the vocabulary (`vocabulary`) of the selected tokenizer, and the lab (`lab`) in a second tab."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.records: list[TokenizerRecord] = []
        self.tokenizer = None  # the WorkbenchTokenizer shown, loaded on the GUI thread
        self.tokenizer_id: int | None = None
        self.training = TrainTokenizerBox(state, runner)
        self.live = LiveBox()
        self.vocabulary = VocabularyBox(state.home, runner)
        self.lab = TokenizerLab(state, runner)
        self._build()
        state.corpus_changed.connect(self.refresh)
        state.corpora_changed.connect(self.refresh)
        state.tokenizers_changed.connect(self.refresh)
        state.tokenizer_changed.connect(self._on_state_tokenizer)
        self.refresh()

    def _build(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self.training)
        left.addWidget(self._build_list_box(), 1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        browse = QSplitter(Qt.Orientation.Vertical)
        browse.addWidget(self.live)
        browse.addWidget(self.vocabulary)
        browse.setSizes([260, 480])
        self.tabs = QTabWidget()
        self.tabs.addTab(browse, "Vocabulary")
        self.tabs.addTab(self.lab, "Lab")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_widget)
        splitter.addWidget(self.tabs)
        splitter.setSizes([420, 680])
        QVBoxLayout(self).addWidget(splitter)

    def _build_list_box(self) -> QGroupBox:
        self.list_box = QGroupBox("Tokenizers")
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(["id", "type", "vocabulary", "lowercase", "min freq"])
        self.table.setToolTip("Tokenizers trained on the current corpus. The selected one is used for training; "
                              "until you choose, the newest is.")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._on_selection_changed)
        self.list_note = QLabel()
        self.list_note.setWordWrap(True)
        layout = QVBoxLayout(self.list_box)
        layout.addWidget(self.table)
        layout.addWidget(self.list_note)
        return self.list_box

    # ---- the list of tokenizers -----------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Reload the current corpus' tokenizers (newest first) and show the chosen one, else the newest."""
        name = self.state.corpus_name or SAMPLE_CORPUS_NAME
        corpus = self.state.store.get_corpus(name)
        self.records = sorted(self.state.store.list_tokenizers(corpus.id), key=lambda r: -r.id) if corpus else []
        self.training.setTitle(f"Train a tokenizer on {name!r}")
        self.list_box.setTitle(f"Tokenizers for {name!r}")
        self.table.blockSignals(True)
        self.table.setRowCount(len(self.records))
        for row, record in enumerate(self.records):
            cells = (record.id, record.type, f"{record.vocab_size:,}", "yes" if record.lowercase else "no",
                     record.config.get("min_frequency", ""))
            for column, value in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(str(value)))
        self.table.blockSignals(False)
        self._select(self.state.tokenizer_id)

    def _select(self, tokenizer_id: int | None) -> None:
        ids = [record.id for record in self.records]
        if tokenizer_id is not None and tokenizer_id not in ids:
            self.state.set_tokenizer(None)  # deleted with its corpus, or from another corpus: fall back
            return
        row = ids.index(tokenizer_id) if tokenizer_id is not None else 0
        self.table.blockSignals(True)
        self.table.clearSelection()
        if self.records:
            self.table.selectRow(row)
        self.table.blockSignals(False)
        if not self.records:
            self.list_note.setText("No tokenizer for this corpus yet. Training a model without one trains a default "
                                   "WordPiece (8,000 tokens) first.")
        elif tokenizer_id is None:
            self.list_note.setText(f"Training uses the newest, tokenizer {ids[0]}, unless you select another.")
        else:
            self.list_note.setText(f"Training uses tokenizer {tokenizer_id}.")
        self.list_note.setStyleSheet("")
        self._show_tokenizer(self.records[row] if self.records else None)

    @Slot()
    def _on_selection_changed(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.state.set_tokenizer(self.records[rows[0].row()].id)

    @Slot(object)
    def _on_state_tokenizer(self, tokenizer_id: int | None) -> None:
        self._select(tokenizer_id)

    def _show_tokenizer(self, record: TokenizerRecord | None) -> None:
        if record is not None and record.id == self.tokenizer_id:
            return
        self.tokenizer, self.tokenizer_id = None, None
        if record is not None:
            try:
                self.tokenizer = load_tokenizer(record)
            except (UserError, ValueError, OSError) as error:
                self.list_note.setText(f"Tokenizer {record.id} cannot be loaded: {error}")
                self.list_note.setStyleSheet(ERROR_STYLE)
            else:
                self.tokenizer_id = record.id
        self.vocabulary.show_tokenizer(record if self.tokenizer is not None else None, self.tokenizer)
        self.live.set_tokenizer(self.tokenizer)


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(TokenizerPanel)
