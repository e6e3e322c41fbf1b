"""The Runs panel's table: one row per run, sortable by any column (numbers as numbers, times as times) and
filtered by a search text and a status; `RunTableModel.set_runs` keeps the rows, and the user's selection, when
a re-read only changed their values. `RunsTable` is the view, with the selection in terms of runs.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from workbench.store.records import RunRecord
from workbench.views.run_compare import local_time, loss_text, run_matches, steps_text

COLUMNS = ("Name", "Kind", "Status", "Preset", "Steps", "Best val loss", "Device", "Created")
COLUMN_TIPS = (
    "The run's name; rename it in the Details tab.",
    "Pretraining builds a model from scratch; fine-tuning adapts one.",
    "Where the run stands: queued, running, paused, completed, stopped, interrupted, failed or diverged.",
    "The model size the run started from.",
    "The last step the run recorded, out of the steps it was asked for.",
    "The lowest validation loss the run reached (lower is better).",
    "The processor the run trained on.",
    "When the run was created, in local time.",
)
STATUS, STEPS, BEST_VAL, CREATED = (COLUMNS.index(n) for n in ("Status", "Steps", "Best val loss", "Created"))
STATUS_COLOURS = {"running": "#1565c0", "paused": "#1565c0", "completed": "#2e7d32", "stopped": "#b35c00",
                  "interrupted": "#b35c00", "failed": "#c62828", "diverged": "#c62828"}


def _cell_text(run: RunRecord, column: int) -> str:
    name = COLUMNS[column]
    if name == "Steps":
        return steps_text(run)
    if name == "Best val loss":
        return loss_text(run.best_val_loss)
    if name == "Created":
        return local_time(run.created_at)
    value = _sort_value(run, column)
    return "-" if value is None else str(value)


def _sort_value(run: RunRecord, column: int):
    return {"Name": run.name, "Kind": run.kind, "Status": run.status, "Preset": run.preset, "Steps": run.last_step,
            "Best val loss": run.best_val_loss, "Device": run.device, "Created": run.created_at}[COLUMNS[column]]


def sort_key(run: RunRecord, column: int) -> tuple:
    """Numbers sort as numbers, times as times, names ignoring case; empty cells first in ascending order."""
    value = _sort_value(run, column)
    if isinstance(value, str):
        value = value.casefold()
    return (value is not None, value if value is not None else 0, run.id)


class RunTableModel(QAbstractTableModel):
    """The runs as rows; `set_runs` keeps rows (and the user's selection) when only their values changed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunRecord] = []

    def set_runs(self, runs: list[RunRecord]) -> bool:
        """Show `runs`; returns True when the rows were replaced (selection lost), False when updated in place."""
        if [r.id for r in runs] == [r.id for r in self.runs]:
            self.runs = runs
            if runs:
                self.dataChanged.emit(self.index(0, 0), self.index(len(runs) - 1, len(COLUMNS) - 1))
            return False
        self.beginResetModel()
        self.runs = runs
        self.endResetModel()
        return True

    def row_of(self, run_id: int) -> int | None:
        return next((row for row, run in enumerate(self.runs) if run.id == run_id), None)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMN_TIPS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        run = self.runs[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell_text(run, index.column())
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == STATUS and run.status in STATUS_COLOURS:
            return QBrush(QColor(STATUS_COLOURS[run.status]))
        if role == Qt.ItemDataRole.ToolTipRole:
            return run.error or (", ".join(run.tags) if run.tags else None)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (STEPS, BEST_VAL):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class RunFilterProxy(QSortFilterProxyModel):
    """Sorts by `sort_key` and keeps the rows `run_matches` accepts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = ""
        self.status: str | None = None

    def set_filter(self, text: str, status: str | None) -> None:
        if not hasattr(self, "beginFilterChange"):  # Qt < 6.10 has only invalidateFilter (deprecated since)
            self.text, self.status = text, status
            self.invalidateFilter()
            return
        self.beginFilterChange()
        self.text, self.status = text, status
        self.endFilterChange()

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        return run_matches(self.sourceModel().runs[row], self.text, self.status)

    def lessThan(self, left: QModelIndex | QPersistentModelIndex, right: QModelIndex | QPersistentModelIndex) -> bool:
        runs = self.sourceModel().runs
        return sort_key(runs[left.row()], left.column()) < sort_key(runs[right.row()], right.column())


class RunsTable(QTableView):
    """The runs (`runs_model`, filtered and sorted by `proxy`), newest first; several may be selected."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs_model = RunTableModel(self)
        self.proxy = RunFilterProxy(self)
        self.proxy.setSourceModel(self.runs_model)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setToolTip("Every run in this workspace. Click a run for its details; Ctrl/Shift-click to "
                        "select several for Diff, Compare, Delete or Export.")

    def run_at(self, index: QModelIndex | QPersistentModelIndex) -> RunRecord:
        """The run on the row of a (proxy) index."""
        return self.runs_model.runs[self.proxy.mapToSource(index).row()]

    def selected_runs(self) -> list[RunRecord]:
        """The selected runs in the order the table shows them."""
        return [self.run_at(index) for index in sorted(self.selectionModel().selectedRows(), key=lambda i: i.row())]

    def select_ids(self, run_ids: list[int], current_id: int | None) -> None:
        """Select these runs (those shown) and make `current_id` the current row without changing the selection."""
        selection = self.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for run_id in run_ids:
            index = self._proxy_index(run_id)
            if index.isValid():
                selection.select(index, flags)
        current = self._proxy_index(current_id)
        if current.isValid():
            selection.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _proxy_index(self, run_id: int | None) -> QModelIndex:
        row = None if run_id is None else self.runs_model.row_of(run_id)
        return QModelIndex() if row is None else self.proxy.mapFromSource(self.runs_model.index(row, 0))
