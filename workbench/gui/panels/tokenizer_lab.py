"""The Tokenizer panel's Lab: tick two or more tokenizers (the workspace's, or a run's own, an imported BERT's
included), choose a corpus or paste a text, and compare them: fertility and the share of words cut into 1, 2, 3,
4+ pieces, UNK rates, unused vocabulary and the longest pieces (a table), pieces per word (a histogram), how much
their vocabularies overlap, and the first sentences cut by each, aligned word by word. The work is
`workbench.jobs.tokenizer_lab.compare` on a worker thread; each picture exports as PNG, SVG and CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.core.tokenizer_stats import Comparison
from workbench.gui.panels.probe_common import Computation, message_label, show_message
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.gui.run_charts import series_colour
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME
from workbench.jobs.tokenizer_lab import DEFAULT_SENTENCES, compare
from workbench.jobs.workspace import in_workspace
from workbench.views.probe_export import file_stem, write_csv
from workbench.views.tokenizer_lab import (
    ALIGNMENT_HEADER,
    FIGURE_COLUMNS,
    FIGURES_HEADER,
    HISTOGRAM_HEADER,
    OVERLAP_HEADER,
    alignment_html,
    alignment_rows,
    bin_labels,
    figures_csv_rows,
    figures_rows,
    histogram_rows,
    lab_choices,
    overlap_rows,
)

PASTED = "the text below"


class FertilityHistogram(pg.PlotWidget):
    """Share of words cut into 1, 2, ... pieces, one group of bars per number of pieces, one colour per tokenizer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setTitle("Pieces per word", color="#333")
        self.setLabel("left", "share of words")
        self.setLabel("bottom", "pieces")
        self.setMouseEnabled(x=False, y=False)
        self.legend = self.addLegend(offset=(-10, 10))
        self.getAxis("bottom").setTicks([list(enumerate(bin_labels(), start=1))])

    def draw(self, comparison: Comparison | None) -> None:
        self.clear()
        self.legend.clear()
        if comparison is None:
            return
        n = len(comparison.stats)
        width = 0.8 / max(n, 1)
        for index, stats in enumerate(comparison.stats):
            x = np.arange(1, len(stats.histogram) + 1) - 0.4 + width * (index + 0.5)
            shares = np.asarray(stats.histogram, dtype=float) / stats.words
            bars = pg.BarGraphItem(x=x, height=shares, width=width, brush=series_colour(index), pen=None,
                                   name=stats.name)
            self.addItem(bars)  # its name puts it in the legend
        self.setYRange(0.0, 1.0, padding=0.02)
        self.setXRange(0.5, len(bin_labels()) + 0.5, padding=0)


def _table(columns: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _fill(table: QTableWidget, rows: list[tuple]) -> None:
    table.setRowCount(len(rows))
    for row, values in enumerate(rows):
        for column, value in enumerate(values):
            table.setItem(row, column, QTableWidgetItem(_text(value)))


class TokenizerLab(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.comparison: Comparison | None = None
        self.source = ""
        self.computation = Computation(runner, "compare tokenizers", self, self._show, self._show_error)
        self._build()
        for signal in (state.tokenizers_changed, state.corpora_changed, state.runs_changed):
            signal.connect(self.refresh)
        self.refresh()

    def _build(self) -> None:
        self.choices = QListWidget()
        self.choices.setToolTip("Tick the tokenizers to compare: the workspace's, or the one a run was trained or "
                                "imported with (run ...).")
        self.choices.setMaximumHeight(90)
        self.corpus = QComboBox()
        self.corpus.setToolTip("The text the figures are counted on: a corpus, or the text pasted below.")
        self.corpus.currentIndexChanged.connect(lambda: self.text.setEnabled(self.corpus.currentData() is None))
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Paste a text here and choose 'the text below'.")
        self.text.setMaximumHeight(70)
        self.sentences = QSpinBox()
        self.sentences.setRange(0, 50)
        self.sentences.setValue(DEFAULT_SENTENCES)
        self.sentences.setToolTip("How many of the text's first sentences to show cut by each tokenizer.")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Count every figure for the ticked tokenizers on the chosen text.")
        self.compare_button.clicked.connect(self.compute)
        controls = QHBoxLayout()
        for widget in (QLabel("Text:"), self.corpus, QLabel("Sentences:"), self.sentences):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.compare_button)
        self.figures = _table(FIGURE_COLUMNS)
        self.figures.setToolTip("Pieces per word (fertility), the share of words cut into 1, 2, 3 and 4+ pieces, "
                                "the share of pieces (and of words) that are unknown, the share of the vocabulary "
                                "never used on this text, and the longest pieces used.")
        self.histogram = FertilityHistogram()
        self.overlap = _table(("a", "b", "shared pieces", "Jaccard"))
        self.overlap.setToolTip("Pieces both vocabularies hold (specials left out; '##', 'Ġ' and '▁' made alike, "
                                "so a word-initial 'the' is the same piece in every family).")
        self.alignment = QTextBrowser()
        self.alignment.setToolTip("Each word's pieces under each tokenizer: white 1 piece, yellow 2, orange 3, "
                                  "red-orange more, purple an unknown piece.")
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.figures)
        # Exports render a plain widget: a bare QGraphicsView's render() takes other arguments.
        self.histogram_box = QWidget()
        box_layout = QVBoxLayout(self.histogram_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        box_layout.addWidget(self.histogram)
        top.addWidget(self.histogram_box)
        top.setSizes([620, 380])
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.alignment)
        bottom.addWidget(self.overlap)
        bottom.setSizes([700, 300])
        self.pictures = QSplitter(Qt.Orientation.Vertical)
        self.pictures.addWidget(top)
        self.pictures.addWidget(bottom)
        self.pictures.setSizes([300, 420])
        self.status = message_label()
        ready = lambda: self.comparison is not None  # noqa: E731
        self.export_button = ExportButton([
            ExportTarget("figures", self.figures, self._figures_csv, lambda: self._stem("figures"), ready),
            ExportTarget("histogram", self.histogram_box, self._histogram_csv, lambda: self._stem("histogram"), ready),
            ExportTarget("segmentations", self.alignment, self._alignment_csv, lambda: self._stem("segmentations"),
                         ready),
            ExportTarget("overlap", self.overlap, self._overlap_csv, lambda: self._stem("overlap"), ready),
        ], self.status)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.choices)
        layout.addLayout(controls)
        layout.addWidget(self.text)
        layout.addWidget(self.pictures, 1)
        layout.addWidget(self.status)

    @Slot()
    def refresh(self) -> None:
        """Re-list the tokenizers (ticks kept) and the corpora."""
        ticked = set(self.ticked())
        self.choices.clear()
        for ref, label in lab_choices(self.state.store):
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, ref)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if ref in ticked else Qt.CheckState.Unchecked)
            self.choices.addItem(item)
        current = self.corpus.currentData()
        self.corpus.blockSignals(True)
        self.corpus.clear()
        names = [c.name for c in self.state.store.list_corpora()] or [SAMPLE_CORPUS_NAME]
        for name in names:
            self.corpus.addItem(f"corpus {name}", name)
        self.corpus.addItem(PASTED, None)
        index = self.corpus.findData(current) if current is not None else -1
        self.corpus.setCurrentIndex(index if index >= 0 else 0)
        self.corpus.blockSignals(False)
        self.text.setEnabled(self.corpus.currentData() is None)

    def ticked(self) -> list[str]:
        items = (self.choices.item(i) for i in range(self.choices.count()))
        return [i.data(Qt.ItemDataRole.UserRole) for i in items if i.checkState() == Qt.CheckState.Checked]

    def tick(self, refs: list[str]) -> None:
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in refs
                               else Qt.CheckState.Unchecked)

    @Slot()
    def compute(self) -> None:
        refs = self.ticked()
        if not refs:
            show_message(self.status, "tick at least one tokenizer (two or more to compare)", error=True)
            return
        corpus = self.corpus.currentData()
        text = None if corpus is not None else self.text.toPlainText()
        home, n = self.state.home, self.sentences.value()
        show_message(self.status, "counting ...")
        self.computation.request(lambda: in_workspace(home, compare, refs, corpus, None, text, n))

    @Slot(object)
    def _show(self, result: tuple) -> None:
        text, self.comparison = result
        self.source = text.source
        _fill(self.figures, figures_rows(self.comparison))
        self.histogram.draw(self.comparison)
        _fill(self.overlap, overlap_rows(self.comparison))
        self.alignment.setHtml(alignment_html(self.comparison))
        words = self.comparison.stats[0].words
        show_message(self.status, f"{len(self.comparison.stats)} tokenizers on {text.source}: {words:,} words, "
                                  f"counted in {self.computation.last_ms / 1000:.1f} s")

    @Slot(str)
    def _show_error(self, message: str) -> None:
        show_message(self.status, message, error=True)

    def _stem(self, what: str) -> str:
        names = [s.name for s in self.comparison.stats] if self.comparison else []
        return file_stem("tokenizers", what, *names)

    def _figures_csv(self, path: Path) -> Path:
        return write_csv(path, FIGURES_HEADER, figures_csv_rows(self.comparison))

    def _histogram_csv(self, path: Path) -> Path:
        return write_csv(path, HISTOGRAM_HEADER, histogram_rows(self.comparison))

    def _alignment_csv(self, path: Path) -> Path:
        return write_csv(path, ALIGNMENT_HEADER, alignment_rows(self.comparison))

    def _overlap_csv(self, path: Path) -> Path:
        return write_csv(path, OVERLAP_HEADER, overlap_rows(self.comparison))
