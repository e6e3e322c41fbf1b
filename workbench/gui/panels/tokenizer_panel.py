"""The Tokenizer panel: train a tokenizer on the current corpus, pick one of its tokenizers, browse the
vocabulary (sortable by id or by how often each token occurs in the corpus) and watch typed text fall into pieces.

Training and frequency counting run as background tasks; loading a tokenizer and cutting the typed text are fast
enough for the GUI thread. The vocabulary model sorts itself with numpy and the proxy only filters: letting
QSortFilterProxyModel compare rows through Python took 15 s for a 50k vocabulary.
"""

from __future__ import annotations

from html import escape
from itertools import takewhile

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
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.settings_form import label_error
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, get_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.base import SettingError
from workbench.settings.tokenizer import MAX_VOCAB_SIZE, TOKENIZER_TYPES, TokenizerConfig, min_vocab_size
from workbench.store.runstore import TokenizerRecord
from workbench.views.browse import (
    FREQUENCY_DOCUMENT_CAP,
    Piece,
    TokenFrequencies,
    Vocabulary,
    count_token_frequencies,
    stream_documents,
    text_pieces,
    vocabulary_table,
)

PASTELS = ("#ffd8d8", "#d4e8ff", "#d9f2d0", "#fff0b8", "#e8dcff", "#cdf1ee")
SPECIAL_COLOUR = "#d9d9d9"
WORD_START_MARK = '<span style="color:#1f3f8f; font-weight:bold;">▎</span>'
LIVE_DEBOUNCE_MS = 150
LIVE_MAX_CHARS = 5000  # longer text is cut: thousands of coloured spans make the box sluggish
ERROR_STYLE = "color: #b00020;"
TYPE_TIPS = {
    "wordpiece": "BERT's WordPiece: pieces inside a word start with ##",
    "bpe": "RoBERTa's byte-level BPE: a piece that starts a word begins with Ġ (a space)",
    "unigram": "Unigram (SentencePiece): a piece that starts a word begins with ▁",
    "char": "one piece per character; ▁ stands for the space before each word",
}


def pieces_html(pieces: list[Piece]) -> str:
    """Each piece on its own pastel background; a bar marks the pieces that begin a word, and pieces of one word
    touch, so both the cuts and the words stay visible."""
    spans = []
    for n, piece in enumerate(pieces):
        colour = SPECIAL_COLOUR if piece.special else PASTELS[n % len(PASTELS)]
        gap = " " + WORD_START_MARK if piece.word_start and n else WORD_START_MARK if piece.word_start else ""
        spans.append(f'{gap}<span style="background-color:{colour}; color:#000000;">{escape(piece.token)}</span>')
    return f'<p style="font-family:monospace; font-size:13pt; line-height:150%;">{"".join(spans)}</p>'


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


class TokenizerPanel(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.records: list[TokenizerRecord] = []
        self.tokenizer = None  # the WorkbenchTokenizer shown, loaded on the GUI thread
        self.tokenizer_id: int | None = None
        self.live_pieces: list[Piece] = []
        self._training: Task | None = None
        self._counting: Task | None = None
        self._frequencies: dict[int, tuple[TokenFrequencies, int]] = {}  # id -> (counts, corpus documents)
        self._filling = False
        self._build()
        state.corpus_changed.connect(self.refresh)
        state.corpora_changed.connect(self.refresh)
        state.tokenizers_changed.connect(self.refresh)
        state.tokenizer_changed.connect(self._on_state_tokenizer)
        self.refresh()

    # ---- layout ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        left = QVBoxLayout()
        left.addWidget(self._build_train_box())
        left.addWidget(self._build_list_box(), 1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left.setContentsMargins(0, 0, 0, 0)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self._build_live_box())
        right.addWidget(self._build_vocab_box())
        right.setSizes([260, 480])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left_widget)
        splitter.addWidget(right)
        splitter.setSizes([420, 680])
        QVBoxLayout(self).addWidget(splitter)

    def _build_train_box(self) -> QGroupBox:
        self.train_box = QGroupBox("Train a tokenizer")
        self.type_combo = QComboBox()
        self.type_combo.addItems(TOKENIZER_TYPES)
        self.type_combo.setToolTip("How words are cut into pieces: WordPiece (as BERT), byte-level BPE (as RoBERTa), "
                                   "Unigram (as SentencePiece) or single characters.")
        self.type_combo.currentTextChanged.connect(self._on_type_changed)
        self.vocab_size = QSpinBox(minimum=min_vocab_size("wordpiece"), maximum=MAX_VOCAB_SIZE, value=8000)
        self.vocab_size.setSingleStep(500)
        self.vocab_size.setGroupSeparatorShown(True)
        self.vocab_size.setToolTip("The most pieces the tokenizer may learn (a small corpus gives fewer). More pieces "
                                   "means fewer pieces per word but a bigger model.")
        self.lowercase = QCheckBox("lower-case all text", checked=True)
        self.lowercase.setToolTip("Turn all text into lower case first, so 'The' and 'the' become the same token.")
        self.min_frequency = QSpinBox(minimum=1, maximum=1_000_000, value=2)
        self.min_frequency.setToolTip("A piece must occur at least this often in the corpus to be learned "
                                      "(Unigram ignores this).")
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a tokenizer with these settings on the current corpus, in the background.")
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the tokenizer training; nothing is saved.")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.cancel_button.hide()
        self.train_progress = QProgressBar()
        self.train_progress.hide()
        self.train_message = QLabel()
        self.train_message.setWordWrap(True)
        form = QFormLayout(self.train_box)
        form.addRow("Type", self.type_combo)
        form.addRow("Vocabulary size", self.vocab_size)
        form.addRow("Lowercase", self.lowercase)
        form.addRow("Min frequency", self.min_frequency)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.train_progress, 1)
        form.addRow(buttons)
        form.addRow(self.train_message)
        return self.train_box

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

    def _build_live_box(self) -> QGroupBox:
        box = QGroupBox("Try it: type text to see its pieces")
        self.live_input = QPlainTextEdit("The children were running happily towards the station.")
        self.live_input.setMaximumHeight(70)
        self.live_input.setToolTip("Type anything: the box below shows how the selected tokenizer cuts it.")
        self.live_view = QTextBrowser()
        self.live_view.setToolTip("Each piece has its own colour; a bar marks a piece that begins a word.")
        self.live_summary = QLabel()
        self.live_summary.setWordWrap(True)
        self.live_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._live_timer = QTimer(self, singleShot=True, interval=LIVE_DEBOUNCE_MS)
        self._live_timer.timeout.connect(self.render_live)
        self.live_input.textChanged.connect(self._live_timer.start)
        layout = QVBoxLayout(box)
        layout.addWidget(self.live_input)
        layout.addWidget(self.live_view, 1)
        layout.addWidget(self.live_summary)
        return box

    def _build_vocab_box(self) -> QGroupBox:
        self.vocab_box = QGroupBox("Vocabulary")
        self.search = QLineEdit(placeholderText="search tokens (e.g. ## or ing)")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Show only the tokens that contain this text (upper or lower case alike).")
        self._search_timer = QTimer(self, singleShot=True, interval=LIVE_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(self._search_timer.start)
        self.vocab_model = VocabularyModel()
        self.vocab_proxy = VocabularyProxy()
        self.vocab_proxy.setSourceModel(self.vocab_model)
        self.vocab_view = QTableView()
        self.vocab_view.setModel(self.vocab_proxy)
        self.vocab_view.setSortingEnabled(True)
        self.vocab_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.vocab_view.verticalHeader().setVisible(False)
        self.vocab_view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.vocab_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.vocab_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.vocab_view.setToolTip("Click a column title to sort by it: id, token, frequency in the corpus, or "
                                   "whether the token begins a word.")
        self.frequency_note = QLabel()
        self.frequency_note.setWordWrap(True)
        self.count_progress = QProgressBar()
        self.count_progress.setMaximumWidth(160)
        self.count_progress.hide()
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count_progress)
        layout = QVBoxLayout(self.vocab_box)
        layout.addLayout(top)
        layout.addWidget(self.frequency_note)
        layout.addWidget(self.vocab_view, 1)
        return self.vocab_box

    # ---- the list of tokenizers -----------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Reload the current corpus' tokenizers (newest first) and show the chosen one, else the newest."""
        name = self.state.corpus_name or SAMPLE_CORPUS_NAME
        corpus = self.state.store.get_corpus(name)
        self.records = sorted(self.state.store.list_tokenizers(corpus.id), key=lambda r: -r.id) if corpus else []
        self.train_box.setTitle(f"Train a tokenizer on {name!r}")
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
        self._show_vocabulary(record if self.tokenizer is not None else None)
        self.render_live()

    # ---- the vocabulary ------------------------------------------------------------------------------------------

    def _show_vocabulary(self, record: TokenizerRecord | None) -> None:
        if record is None:
            self.vocab_box.setTitle("Vocabulary")
            self.vocab_model.set_vocabulary(None)
            self.frequency_note.setText("")
            self.count_progress.hide()
            return
        self.vocab_box.setTitle(f"Vocabulary of tokenizer {record.id}: {self.tokenizer.vocab_size:,} tokens")
        counted = self._frequencies.get(record.id)
        self.vocab_model.set_vocabulary(vocabulary_table(self.tokenizer), counted[0].counts if counted else None)
        if counted:
            self._show_frequency_note(*counted)
        else:
            self._start_counting(record)

    @Slot()
    def _apply_search(self) -> None:
        self.vocab_proxy.setFilterFixedString(self.search.text())

    def _start_counting(self, record: TokenizerRecord) -> None:
        if self._counting is not None:
            self._counting.cancel()  # its result would be for a tokenizer no longer shown
        home = self.state.home

        def work(task: Task) -> tuple[int, TokenFrequencies | None, int]:
            with Workspace(home) as ws:
                corpus = ws.store.get_corpus(record.corpus_id)
            if corpus is None:
                raise UserError(f"the corpus of tokenizer {record.id} is gone")
            tokenizer = load_tokenizer(record)  # its own copy: the GUI thread encodes the live text meanwhile
            total = int(corpus.stats["documents"])
            texts = takewhile(lambda _: not task.cancelled, stream_documents(corpus))
            wanted = min(total, FREQUENCY_DOCUMENT_CAP)
            counted = count_token_frequencies(
                tokenizer, texts, progress=lambda done: task.report("counting", done, wanted)
            )
            return record.id, None if task.cancelled else counted, total

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
        if tokenizer_id == self.tokenizer_id:
            self.vocab_model.set_counts(counted.counts)
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

    # ---- the live box ------------------------------------------------------------------------------------------

    @Slot()
    def render_live(self) -> None:
        """Cut the typed text with the shown tokenizer (called ~150 ms after the last key)."""
        if self.tokenizer is None:
            self.live_pieces = []
            self.live_view.setHtml('<p style="color:#777777;">Train or select a tokenizer to see how it cuts text.</p>')
            self.live_summary.setText("")
            return
        text = self.live_input.toPlainText()
        self.live_pieces = text_pieces(self.tokenizer, text[:LIVE_MAX_CHARS])
        self.live_view.setHtml(pieces_html(self.live_pieces))
        words = sum(piece.word_start for piece in self.live_pieces)
        summary = (f"{len(self.live_pieces)} pieces, {words} of them begin a word (the bar before them). "
                   f"{TYPE_TIPS[self.tokenizer.config.type]}.")
        if len(text) > LIVE_MAX_CHARS:
            summary += f" Only the first {LIVE_MAX_CHARS:,} characters are shown."
        ids = " ".join(str(piece.id) for piece in self.live_pieces[:60])
        self.live_summary.setText(summary + (f"\nids: {ids}" + (" …" if len(self.live_pieces) > 60 else "")
                                             if ids else ""))

    # ---- training ----------------------------------------------------------------------------------------------

    @Slot(str)
    def _on_type_changed(self, tokenizer_type: str) -> None:
        self.vocab_size.setMinimum(min_vocab_size(tokenizer_type))
        self.min_frequency.setEnabled(tokenizer_type != "unigram")
        self.type_combo.setToolTip(f"How words are cut into pieces. Now: {TYPE_TIPS[tokenizer_type]}.")

    def config(self) -> TokenizerConfig:
        return TokenizerConfig(type=self.type_combo.currentText(), vocab_size=self.vocab_size.value(),
                               lowercase=self.lowercase.isChecked(), min_frequency=self.min_frequency.value())

    @Slot()
    def start_training(self) -> None:
        if self._training is not None:
            return
        try:
            config = self.config()
        except SettingError as error:
            self._say(label_error(TokenizerConfig, error), error=True)
            return
        corpus_name, home = self.state.corpus_name, self.state.home

        def work(task: Task) -> tuple[TokenizerRecord, bool, str | None]:
            def progress(done: int) -> None:
                if task.cancelled:
                    raise UserError("tokenizer training cancelled")
                task.report("documents read", done, total)

            with Workspace(home) as ws:
                corpus = get_corpus(ws, corpus_name)
                total = int(corpus.stats["documents"])
                before = {t.id for t in ws.store.list_tokenizers(corpus.id)}
                record = train_tokenizer_for(ws, corpus, config, progress)
            return record, record.id in before, corpus_name

        self._training = Task("train tokenizer", work, ask_before_closing=True)
        self._training.progress.connect(self._on_train_progress)
        self._training.succeeded.connect(self._on_trained)
        self._training.failed.connect(self._on_train_failed)
        self._training.done.connect(self._on_train_done)
        self.train_button.setEnabled(False)
        self.cancel_button.show()
        self.train_progress.setRange(0, 0)
        self.train_progress.show()
        self._say("Reading the corpus…")
        self.runner.start(self._training)

    @Slot()
    def cancel_training(self) -> None:
        if self._training is not None:
            self._training.cancel()
            self._say("Cancelling: training stops at its next progress report.")

    @Slot(str, int, object)
    def _on_train_progress(self, stage: str, done: int, total: int | None) -> None:
        if total and done < total:
            self.train_progress.setRange(0, total)
            self.train_progress.setValue(done)
            self.train_progress.setFormat(f"{done:,} of {total:,} documents read")
        else:  # every document read: the trainer now merges pieces, with no progress to report
            self.train_progress.setRange(0, 0)
            self._say(f"Read {done:,} documents; building the vocabulary…")

    @Slot(object)
    def _on_trained(self, result: tuple[TokenizerRecord, bool, str | None]) -> None:
        record, reused, corpus_name = result
        if reused:
            self._say(f"These settings were trained before: tokenizer {record.id} ({record.vocab_size:,} tokens).")
        else:
            self._say(f"Trained tokenizer {record.id}: {record.type}, {record.vocab_size:,} tokens.")
        self.state.tokenizers_changed.emit()
        if corpus_name == self.state.corpus_name:
            self.state.set_tokenizer(record.id)

    @Slot(str, str)
    def _on_train_failed(self, message: str, details: str) -> None:
        if self._training is not None and self._training.cancelled:
            self._say("Training cancelled; nothing was saved.")
            return
        self._say(f"Training failed: {message}", error=True)
        show_error = getattr(self.window(), "show_error", None)
        if show_error is not None:
            show_error(f"Tokenizer training failed: {message}", details)

    @Slot()
    def _on_train_done(self) -> None:
        self._training = None
        self.train_button.setEnabled(True)
        self.cancel_button.hide()
        self.train_progress.hide()

    def _say(self, text: str, error: bool = False) -> None:
        self.train_message.setStyleSheet(ERROR_STYLE if error else "")
        self.train_message.setText(text)


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(TokenizerPanel)
