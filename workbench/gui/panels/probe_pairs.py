"""The minimal-pair Suites view (Probe panel, Scoring tab): a suite of good/bad sentence pairs (by default the
bundled sample_minimal_pairs.tsv; BLiMP's JSONL files too) scored by PLL on the chosen checkpoint or on every
checkpoint; accuracy (a tie is a failure), ties and the mean margin overall and per phenomenon, accuracy plotted
against training step, and the pairs of the last evaluation with their scores. It is the cloze Suites view
(`probe_suite.SuiteView`) with the hooks of a minimal-pair suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QWidget

from workbench.core.probing import PLL_METHODS
from workbench.core.probing.minimal_pairs import load_pairs
from workbench.gui.panels.probe_common import ProbeContext
from workbench.gui.panels.probe_export import ExportTarget
from workbench.gui.panels.probe_scoring import METHOD_TIPS
from workbench.gui.panels.probe_suite import OVERALL, SuiteView
from workbench.jobs.pair_suites import default_pairs_path
from workbench.views.pair_suite_views import (
    PAIR_ITEMS_HEADER,
    PAIR_SUITE_HEADER,
    pair_curves,
    pair_item_rows,
    pair_suite_rows,
    pair_table_rows,
    run_pairs_cancellable,
)
from workbench.views.probe_export import file_stem, write_csv
from workbench.views.probe_views import SuiteRun

COLUMNS = ["Phenomenon", "Pairs", "Accuracy", "Ties", "Mean margin"]
EVERY_PHENOMENON = "every phenomenon"
OUTCOME_COLOURS = {"right": "#1a9850", "wrong": "#d73027", "tie": "#b8860b"}


class PairSuiteView(SuiteView):
    KIND = "minimal pairs"
    CHART_TITLE = "Grammar during training (accuracy on minimal pairs)"
    PATH_TIP = ("A minimal-pair file: TSV with columns good, bad and phenomenon, or BLiMP's JSONL (sentence_good, "
                "sentence_bad, UID or field). A pair counts when the good sentence has the higher PLL; a tie fails.")

    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(context, parent)
        self.pictures.setSizes([380, 420, 520])
        self.scope.setMinimumContentsLength(len(EVERY_PHENOMENON))
        self.method.currentIndexChanged.connect(self.show_stored)

    def _extra_pictures(self) -> list[QWidget]:
        self.pairs = QTableWidget(0, len(PAIR_ITEMS_HEADER))
        self.pairs.setHorizontalHeaderLabels(["phenomenon", "good", "bad", "PLL good", "PLL bad", "margin", "outcome"])
        self.pairs.setToolTip("The pairs as the chosen checkpoint scored them in the last evaluation; click a header "
                              "to sort, e.g. by margin to see the pairs the model gets most wrong.")
        self.pairs.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.pairs.verticalHeader().setVisible(False)
        self.pairs.setWordWrap(False)
        self.pairs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        return [self.pairs]

    def _options(self) -> list[QWidget]:
        self.method = QComboBox()
        for method in PLL_METHODS:
            self.method.addItem(method, method)
            self.method.setItemData(self.method.count() - 1, METHOD_TIPS[method], Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How a word of several pieces is scored; results are stored per method.")
        return [QLabel("PLL:"), self.method]

    def _default_path(self) -> Path:
        return default_pairs_path(self.context.state.workspace)

    def _version(self, path: str) -> str:
        return load_pairs(path).version(self.method.currentData())

    def _job(self, path: str | None, step: int | None, all_checkpoints: bool) -> Callable[..., SuiteRun]:
        method = self.method.currentData()
        return lambda ws, run_id, **kw: run_pairs_cancellable(ws, run_id, path, step, all_checkpoints, method, **kw)

    def _columns(self, metrics: dict | None) -> list[str]:
        return COLUMNS

    def _table_rows(self, metrics: dict) -> list[tuple]:
        return pair_table_rows(metrics)

    def _scopes(self) -> list[str]:
        return [OVERALL, EVERY_PHENOMENON]

    def _curves(self, scope: str) -> list[tuple[str, list[int], list[float]]]:
        groups = sorted(self.results[-1].metrics["groups"]) if self.results else []
        chosen = {"": [None], OVERALL: [None], EVERY_PHENOMENON: [None, *groups]}.get(scope, [scope])
        return pair_curves(self.results, chosen)

    def _export_targets(self) -> list[ExportTarget]:
        return [*super()._export_targets(),
                ExportTarget("pairs", self.pairs, self._write_items_csv, lambda: file_stem(self._file_stem(), "pairs"),
                             lambda: self._last_items() is not None)]

    def _write_csv(self, path: Path) -> Path:
        return write_csv(path, PAIR_SUITE_HEADER, pair_suite_rows(self.results))

    def _write_items_csv(self, path: Path) -> Path:
        return write_csv(path, PAIR_ITEMS_HEADER, pair_item_rows(self._last_items() or []))

    def _last_items(self) -> list | None:
        """The pairs scored on the chosen checkpoint by the last evaluation (scores per pair are not stored)."""
        model, run = self.context.primary, self.last_run
        if model is None or run is None:
            return None
        versions = {r.suite_sha256 for r in self.results}
        return next((result.items for record, result in run.results if record.run_id == model.run_id
                     and record.checkpoint_step == model.step and record.suite_sha256 in versions), None)

    def show_stored(self) -> None:
        super().show_stored()
        self._fill_pairs()

    def _fill_pairs(self) -> None:
        rows = pair_item_rows(self._last_items() or [])
        self.pairs.setSortingEnabled(False)
        self.pairs.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                item = QTableWidgetItem()
                item.setData(Qt.ItemDataRole.DisplayRole, round(value, 3) if isinstance(value, float) else value)
                if column == len(values) - 1:
                    item.setForeground(Qt.GlobalColor.white)
                    item.setBackground(QColor(OUTCOME_COLOURS[value]))
                self.pairs.setItem(row, column, item)
        self.pairs.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # the file's order first
        self.pairs.setSortingEnabled(True)
        self.pairs.resizeColumnsToContents()

