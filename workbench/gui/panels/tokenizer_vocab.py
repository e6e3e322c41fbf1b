"""The Tokenizer panel's vocabulary browser: every token of the shown tokenizer with its id, how often it occurs
in the tokenizer's corpus (counted in the background, remembered per tokenizer) and whether it begins a word;
sortable by any column and filtered by a search.

The model sorts itself with numpy and the proxy only filters: letting QSortFilterProxyModel compare rows through
Python took 15 s for a 50k vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.panels.tokenizer_live import DEBOUNCE_MS
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import in_workspace
from workbench.store.records import TokenizerRecord
from workbench.views.browse import TokenFrequencies, Vocabulary, tokenizer_frequencies, vocabulary_table

if TYPE_CHECKING:
    from workbench.core.tokenization import WorkbenchTokenizer


class VocabularyModel(QAbstractTableModel):
    """The vocabulary as rows (id, token, frequency, word start), sorted here with numpy."""

    COLUMNS = ("id", "token", "frequency", "word start")
    FREQUENCY = 2

    def __init__(self) -> None:
        super().__init__()
        self.vocab: Vocabulary | None = None
        self.counts: np.ndarray | None = None
        self._order = np.zeros(0, dtype=np.int64)  # row -> token id
        self._sort = (0, Qt.SortOrder.AscendingOrder)

    def set_vocabulary(self, vocab: Vocabulary | None, counts: np.ndarray | None = None) -> None:
        self.beginResetModel()
        self.vocab, self.counts = vocab, counts
        self._order = np.arange(len(vocab.tokens) if vocab else 0)
        self._order = self._sorted_order(*self._sort)
        self.endResetModel()

    def set_counts(self, counts: np.ndarray | None) -> None:
        self.counts = counts
        if self._sort[0] == self.FREQUENCY:
            self.sort(*self._sort)
        elif self.rowCount():
            self.dataChanged.emit(self.index(0, self.FREQUENCY), self.index(self.rowCount() - 1, self.FREQUENCY))

    def token_id(self, row: int) -> int:
        return int(self._order[row])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if self.vocab is None or not index.isValid():
            return None
        i, column = int(self._order[index.row()]), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return str(i)
            if column == 1:
                return self.vocab.tokens[i]
            if column == self.FREQUENCY:
                return "…" if self.counts is None else f"{int(self.counts[i]):,}"
            return "special" if self.vocab.special[i] else "✓" if self.vocab.word_start[i] else ""
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, self.FREQUENCY):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        old_ids = [int(self._order[index.row()]) for index in old]
        self._sort = (column, order)
        self._order = self._sorted_order(column, order)
        row_of = np.empty_like(self._order)
        row_of[self._order] = np.arange(len(self._order))
        self.changePersistentIndexList(old, [self.index(int(row_of[i]), ix.column()) for i, ix in zip(old_ids, old)])
        self.layoutChanged.emit()

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> np.ndarray:
        if self.vocab is None:
            return np.zeros(0, dtype=np.int64)
        descending = order == Qt.SortOrder.DescendingOrder
        if column == 1:
            ids = sorted(range(len(self.vocab.tokens)), key=self.vocab.tokens.__getitem__, reverse=descending)
            return np.asarray(ids, dtype=np.int64)
        ids = np.arange(len(self.vocab.tokens), dtype=np.int64)
        keys = {0: ids, self.FREQUENCY: self.counts, 3: self.vocab.word_start.astype(np.int64)}.get(column)
        if keys is None:
            keys = ids  # frequencies not counted yet: id order
        # descending by key, ties by id ascending: a stable sort of the negated keys
        return np.argsort(-keys if descending else keys, kind="stable")


class VocabularyProxy(QSortFilterProxyModel):
    """Filters the token column; sorting goes to the source model (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFilterKeyColumn(1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)


class VocabularyBox(QGroupBox):
    """The vocabulary table (`view` over `proxy` over `model`), its `search` box and the frequency note."""

    def __init__(self, home: Path, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Vocabulary", parent)
        self.home, self.runner = home, runner
        self.record_id: int | None = None  # the tokenizer shown
        self._counting: Task | None = None
        self._frequencies: dict[int, tuple[TokenFrequencies, int]] = {}  # id -> (counts, corpus documents)
        self.search = QLineEdit(placeholderText="search tokens (e.g. ## or ing)")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the tokens that contain this text (upper or lower case alike).")
        self._search_timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._search_timer.start)
        self.model = VocabularyModel()
        self.proxy = VocabularyProxy()
        self.proxy.setSourceModel(self.model)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setToolTip("Click a column title to sort by it: id, token, frequency in the corpus, or "
                             "whether the token begins a word.")
        self.frequency_note = QLabel()
        self.frequency_note.setWordWrap(True)
        self.count_progress = QProgressBar()
        self.count_progress.setMaximumWidth(160)
        self.count_progress.hide()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count_progress)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.frequency_note)
        layout.addWidget(self.view, 1)

    def show_tokenizer(self, record: TokenizerRecord | None, tokenizer: WorkbenchTokenizer | None) -> None:
        """Show `tokenizer`'s vocabulary (None: none) and its frequencies, counting them the first time."""
        self.record_id = None if record is None else record.id
        if record is None or tokenizer is None:
            self.setTitle("Vocabulary")
            self.model.set_vocabulary(None)
            self.frequency_note.setText("")
            self.count_progress.hide()
            return
        self.setTitle(f"Vocabulary of tokenizer {record.id}: {tokenizer.vocab_size:,} tokens")
        counted = self._frequencies.get(record.id)
        self.model.set_vocabulary(vocabulary_table(tokenizer), counted[0].counts if counted else None)
        if counted:
            self._show_frequency_note(*counted)
        else:
            self._start_counting(record)

    @Slot()
    def _apply_search(self) -> None:
        self.proxy.setFilterFixedString(self.search.text())

    def _start_counting(self, record: TokenizerRecord) -> None:
        if self._counting is not None:
            self._counting.cancel()  # its result would be for a tokenizer no longer shown
        home = self.home

        def work(task: Task) -> tuple[int, TokenFrequencies | None, int]:
            counted, total = in_workspace(home, tokenizer_frequencies, record, cancelled=lambda: task.cancelled,
                                          progress=lambda done, wanted: task.report("counting", done, wanted))
            return record.id, counted, total

        self._counting = Task("count token frequencies", work)
        self._counting.progress.connect(self._on_count_progress)
        self._counting.succeeded.connect(self._on_counted)
        self._counting.failed.connect(self._on_count_failed)
        self.frequency_note.setText("Counting how often each token occurs in the corpus…")
        self.count_progress.setRange(0, 0)
        self.count_progress.show()
        self.runner.start(self._counting)

    @Slot(str, int, object)
    def _on_count_progress(self, stage: str, done: int, total: int | None) -> None:
        if self.sender() is self._counting and total:
            self.count_progress.setRange(0, total)
            self.count_progress.setValue(done)

    @Slot(object)
    def _on_counted(self, result: tuple[int, TokenFrequencies | None, int]) -> None:
        tokenizer_id, counted, total = result
        if counted is None:
            return
        self._frequencies[tokenizer_id] = (counted, total)
        if tokenizer_id == self.record_id:
            self.model.set_counts(counted.counts)
            self._show_frequency_note(counted, total)

    @Slot(str, str)
    def _on_count_failed(self, message: str, details: str) -> None:
        if self.sender() is self._counting:
            self.count_progress.hide()
            self.frequency_note.setText(f"Frequencies could not be counted: {message}")

    def _show_frequency_note(self, counted: TokenFrequencies, total: int) -> None:
        self.count_progress.hide()
        if counted.complete:
            self.frequency_note.setText(f"Frequencies: how often each token occurs in all {counted.documents:,} "
                                        f"documents ({counted.tokens:,} tokens).")
        else:
            self.frequency_note.setText(f"Frequencies over the first {counted.documents:,} of {total:,} documents "
                                        "only: a large corpus is sampled to keep this quick.")
