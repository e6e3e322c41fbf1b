"""The Neighbours view: which tokens the model's input embeddings place closest to a token (cosine similarity),
and, for a word in a sentence, the words of other sentences whose contextual vectors (last layer, mean over the
word's pieces) are closest, which shows one word getting different meanings in different sentences.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing import contextual_neighbours, nearest_tokens
from workbench.core.probing.neighbours import ContextualNeighbours, TokenNeighbours
from workbench.gui.panels.probe_common import Computation, ProbeContext, message_label, model_title, show_message
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.views.probe_export import NEIGHBOUR_HEADER, file_stem, neighbour_rows, write_csv
from workbench.views.probe_views import parse_lines

DEFAULT_SENTENCE = "the cow says moo."
DEFAULT_OTHERS = "the dog says woof.\nthe farmer sees the cow.\na cat sleeps on the mat."


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table


def _fill(table: QTableWidget, rows: list[tuple]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(f"{value:.3f}" if isinstance(value, float) else str(value)))


def _box(title: str, controls: tuple[QWidget, ...], *below: QWidget) -> QGroupBox:
    """A titled box: a row of controls, then the widgets below it."""
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    row = QHBoxLayout()
    for widget in controls:
        row.addWidget(widget)
    layout.addLayout(row)
    for widget in below:
        layout.addWidget(widget)
    return box


class NeighboursView(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.computation = Computation(context.runner, "neighbours", self, self._show, self._show_error)
        self.token_result: TokenNeighbours | None = None
        self.word_result: ContextualNeighbours | None = None
        self.word_others: list[str] = []  # the other sentences `word_result` searched
        self._build()
        context.models_changed.connect(self.find_tokens)

    def _build(self) -> None:
        self.token = QLineEdit("cow")
        self.token.setToolTip("A word or a vocabulary token (a word of several pieces uses its first piece).")
        self.token.returnPressed.connect(self.find_tokens)
        self.k = QSpinBox()
        self.k.setRange(1, 100)
        self.k.setValue(10)
        self.k.setToolTip("How many neighbours to list.")
        find = QPushButton("Find similar tokens")
        find.setToolTip("List the tokens whose input embeddings point the most in the same direction.")
        find.clicked.connect(self.find_tokens)
        self.token_table = _table(("Token", "Cosine"))
        token_box = _box("Nearest tokens (input embeddings)",
                         (QLabel("Token:"), self.token, QLabel("k:"), self.k, find), self.token_table)
        self.sentence = QLineEdit(DEFAULT_SENTENCE)
        self.sentence.setToolTip("A sentence containing the word to look up.")
        self.word = QLineEdit("cow")
        self.word.setToolTip("The word of that sentence whose meaning in context to compare.")
        self.others = QPlainTextEdit(DEFAULT_OTHERS)
        self.others.setToolTip("Other sentences to search, one per line.")
        self.others.setMaximumHeight(90)
        find_words = QPushButton("Find similar words in context")
        find_words.setToolTip("List the words of the other sentences whose meaning in context is closest.")
        find_words.clicked.connect(self.find_words)
        self.word_table = _table(("Word", "Cosine", "Sentence"))
        word_box = _box("Contextual neighbours (last layer)",
                        (QLabel("Sentence:"), self.sentence, QLabel("Word:"), self.word, find_words),
                        QLabel("Other sentences (one per line):"), self.others, self.word_table)
        self.status = message_label()
        self.tables = QWidget()
        boxes = QHBoxLayout(self.tables)
        boxes.setContentsMargins(0, 0, 0, 0)
        boxes.addWidget(token_box, 2)
        boxes.addWidget(word_box, 3)
        self.export_button = ExportButton([ExportTarget(
            "neighbours", self.tables, self._write_csv, self._file_stem,
            lambda: self.token_result is not None or self.word_result is not None)], self.status)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tables, 1)
        layout.addLayout(bottom)

    @Slot()
    def find_tokens(self) -> None:
        model, token, k = self.context.primary, self.token.text(), self.k.value()
        if model is not None and token.strip():
            self.computation.request(lambda: nearest_tokens(model.model, model.tokenizer, token, k))

    @Slot()
    def find_words(self) -> None:
        model, sentence, word = self.context.primary, self.sentence.text(), self.word.text()
        others, k = parse_lines(self.others.toPlainText()), self.k.value()
        if model is not None:
            self.computation.request(
                lambda: contextual_neighbours(model.model, model.tokenizer, sentence, word, others, k))

    @Slot(object)
    def _show(self, result: TokenNeighbours | ContextualNeighbours) -> None:
        title = model_title(self.context.primary) if self.context.primary else ""
        if isinstance(result, TokenNeighbours):
            self.token_result = result
            _fill(self.token_table, [(n.token, n.cosine) for n in result.neighbours])
            note = f"; {result.note}" if result.note else ""
            show_message(self.status, f"neighbours of {result.query_token!r} in {title}{note}")
            return
        others = parse_lines(self.others.toPlainText())
        self.word_result, self.word_others = result, others
        _fill(self.word_table, [(n.word, n.cosine, others[n.sentence_index] if n.sentence_index < len(others) else "")
                                for n in result.neighbours])
        show_message(self.status, f"words closest to {result.word!r} (word {result.word_index + 1}) in {title}")

    @Slot(str)
    def _show_error(self, message: str) -> None:
        show_message(self.status, message, error=True)

    def _write_csv(self, path: Path) -> Path:
        return write_csv(path, NEIGHBOUR_HEADER, neighbour_rows(self.token_result, self.word_result, self.word_others))

    def _file_stem(self) -> str:
        model = self.context.primary
        return file_stem("neighbours", self.token.text().strip(), model.run_name if model else None)
