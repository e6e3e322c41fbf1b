"""The Runs panel: every recorded run in a sortable, searchable table; one run's settings, curves and checkpoints;
the settings two runs differ in; several runs' losses on one chart; rename, notes, tags, resume, delete and CSV
export. The table re-reads the database when a run changes and every two seconds while the panel is visible,
so a run training elsewhere (the Train panel, or the CLI in another terminal) shows its progress here.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    QStandardPaths,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QBrush, QColor, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.notify import notify_window
from workbench.gui.run_charts import CompareChart, RunDetailCharts
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.errors import UserError
from workbench.jobs.metrics_csv import metrics_csv_rows, write_metrics_csv
from workbench.jobs.pretrain import delete_run
from workbench.store.runstore import RunRecord, StoreError
from workbench.store.schema import RUN_STATUSES
from workbench.views.curves import RunCurves, load_curves
from workbench.views.run_compare import (
    can_resume,
    config_diff,
    describe_run,
    format_value,
    human_size,
    local_time,
    loss_text,
    metrics_text,
    parse_tags,
    run_matches,
    steps_text,
)

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
POLL_MS = 2000


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


class RunsPanel(QWidget):
    resume_requested = Signal(int)  # run id; the main window hands it to the Train panel

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self._details_id: int | None = None
        self._details_run: RunRecord | None = None
        self._build_table()
        self._build_tabs()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        splitter.setSizes([260, 440])
        layout = QVBoxLayout(self)
        layout.addLayout(self._build_toolbar())
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        state.runs_changed.connect(self.refresh)
        self.refresh()

    # ---- construction --------------------------------------------------------------------------------------

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        return button

    def _build_toolbar(self) -> QHBoxLayout:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, status, tags")
        self.search.setToolTip("Show only runs whose name, status or tags contain every word typed here.")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._apply_filter)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for status in RUN_STATUSES:
            self.status_filter.addItem(status, status)
        self.status_filter.setToolTip("Show only runs in this state.")
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        self.refresh_button = self._button("Refresh", "Read the runs from the database again.", self.refresh)
        self.diff_button = self._button("Diff", "Select two runs to list only the settings they differ in.",
                                        self.show_diff)
        self.compare_button = self._button(
            "Compare", "Select two or more runs to draw their losses on one chart.", self.show_comparison)
        self.resume_button = self._button(
            "Resume", "Continue a stopped, interrupted or failed pretraining run from its last checkpoint.",
            self.resume_selected)
        self.delete_button = self._button(
            "Delete", "Delete the selected runs, their metrics and their checkpoint files (asks first).",
            self.delete_selected)
        self.export_button = self._button(
            "Export CSV", "Save the selected runs' metrics as a CSV file (run_id, key, step, value, wall_time).",
            self.export_selected)
        row = QHBoxLayout()
        row.addWidget(self.search, 1)
        row.addWidget(self.status_filter)
        for button in (self.refresh_button, self.diff_button, self.compare_button, self.resume_button,
                       self.delete_button, self.export_button):
            row.addWidget(button)
        return row

    def _build_table(self) -> None:
        self.model = RunTableModel(self)
        self.proxy = RunFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Every run in this workspace. Click a run for its details; Ctrl/Shift-click to "
                              "select several for Diff, Compare, Delete or Export.")
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._update_buttons)
        selection.currentRowChanged.connect(self._on_current_changed)

    def _build_tabs(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_details(), "Details")
        self.curves = RunDetailCharts()
        self.tabs.addTab(self.curves, "Curves")
        self.checkpoints = QTableWidget(0, 5)
        self.checkpoints.setHorizontalHeaderLabels(("Step", "Size", "SHA-256", "Metrics", "Path"))
        self.checkpoints.setToolTip("Saved model weights; a stopped run resumes from the last one.")
        self.tabs.addTab(self.checkpoints, "Checkpoints")
        self.diff_page = self._build_diff()
        self.tabs.addTab(self.diff_page, "Diff")
        self.compare_chart = CompareChart()
        self.tabs.addTab(self.compare_chart, "Compare")
        for table in (self.checkpoints, self.diff_table):
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.verticalHeader().setVisible(False)
            table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.checkpoints.horizontalHeader().setStretchLastSection(True)
        for column in (1, 2):  # the two runs' values get equal room
            self.diff_table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)

    def _build_details(self) -> QWidget:
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The run's name; it must be unique and not only digits.")
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("baseline, lr-sweep")
        self.tags_edit.setToolTip("Labels to find runs by, separated by commas.")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("What this run tried and what you learned")
        self.notes_edit.setToolTip("Free notes about this run, kept in the database.")
        self.save_button = self._button("Save", "Store the name, tags and notes of this run.", self.save_details)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form = QFormLayout()
        form.addRow(self.info)
        form.addRow("Name", self.name_edit)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Notes", self.notes_edit)
        form.addRow("", self.save_button)
        left = QWidget()
        left.setLayout(form)
        self.config_tree = QTreeWidget()
        self.config_tree.setHeaderLabels(("Setting", "Value"))
        self.config_tree.setToolTip("Every setting the run was started with.")
        self.config_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.config_tree)
        splitter.setSizes([450, 550])
        return splitter

    def _build_diff(self) -> QWidget:
        self.diff_summary = QLabel("Select two runs and press Diff to see the settings they differ in.")
        self.diff_table = QTableWidget(0, 3)
        self.diff_table.setHorizontalHeaderLabels(("Setting", "first run", "second run"))
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.diff_summary)
        layout.addWidget(self.diff_table, 1)
        return page

    # ---- reading the database ------------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Re-read the runs; rows, selection and the details shown follow the database (nothing redrawn when
        nothing changed, so the two-second poll costs one query)."""
        try:
            runs = self.state.store.list_runs()
        except StoreError as error:
            self._show_error(f"Could not read the runs: {error}")
            return
        if runs == self.model.runs:
            return
        selected = [run.id for run in self.selected_runs()]
        if self.model.set_runs(runs):
            self._select_ids(selected, self._details_id)
        current = next((run for run in runs if run.id == self._details_id), None)
        if current is None:
            self._show_run(None)
        elif current != self._details_run:
            self._update_details(current)
        self._update_buttons()

    def selected_runs(self) -> list[RunRecord]:
        """The selected runs in the order the table shows them."""
        indexes = sorted(self.table.selectionModel().selectedRows(), key=lambda index: index.row())
        return [self.model.runs[self.proxy.mapToSource(index).row()] for index in indexes]

    def _proxy_index(self, run_id: int | None) -> QModelIndex:
        row = None if run_id is None else self.model.row_of(run_id)
        return QModelIndex() if row is None else self.proxy.mapFromSource(self.model.index(row, 0))

    def _select_ids(self, run_ids: list[int], current_id: int | None) -> None:
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for run_id in run_ids:
            index = self._proxy_index(run_id)
            if index.isValid():
                selection.select(index, flags)
        current = self._proxy_index(current_id)
        if current.isValid():
            selection.setCurrentIndex(current, QItemSelectionModel.SelectionFlag.NoUpdate)

    @Slot()
    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.search.text(), self.status_filter.currentData())
        self._update_buttons()

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return  # filtered away or a reset: keep showing the run until it is deleted
        run = self.model.runs[self.proxy.mapToSource(current).row()]
        if run.id != self._details_id:
            self._show_run(run)
        elif run != self._details_run:
            self._update_details(run)

    @Slot()
    def _update_buttons(self) -> None:
        runs = self.selected_runs()
        self.diff_button.setEnabled(len(runs) == 2)
        self.compare_button.setEnabled(len(runs) >= 2)
        self.delete_button.setEnabled(bool(runs))
        self.export_button.setEnabled(bool(runs))
        self.resume_button.setEnabled(len(runs) == 1 and self._resumable(runs[0]))

    def _resumable(self, run: RunRecord) -> bool:
        return can_resume(run, self.state.store.latest_checkpoint(run.id) is not None)

    # ---- one run's details ---------------------------------------------------------------------------------

    def _show_run(self, run: RunRecord | None) -> None:
        """Show another run: its editable fields are filled only here, so a poll never overwrites typing."""
        self._details_id = None if run is None else run.id
        self.name_edit.setText("" if run is None else run.name)
        self.tags_edit.setText("" if run is None else ", ".join(run.tags))
        self.notes_edit.setPlainText("" if run is None else run.notes or "")
        for widget in (self.name_edit, self.tags_edit, self.notes_edit, self.save_button):
            widget.setEnabled(run is not None)
        self._update_details(run)

    def _update_details(self, run: RunRecord | None) -> None:
        if run is None or self._details_run is None or run.config != self._details_run.config:
            self._fill_config({} if run is None else run.config)
        self._details_run = run
        self.info.setText(describe_run(run) if run is not None else "Select a run to see its details.")
        try:
            checkpoints = [] if run is None else self.state.store.checkpoints(run.id)
            curves = RunCurves() if run is None else load_curves(self.state.store, run.id)
        except StoreError as error:
            self._show_error(f"Could not read run {run.name!r}: {error}")
            return
        self._fill_checkpoints(checkpoints)
        self.curves.show_curves(curves)

    def _fill_config(self, config: dict) -> None:
        self.config_tree.clear()
        self._add_config_items(self.config_tree.invisibleRootItem(), config)
        self.config_tree.expandAll()

    def _add_config_items(self, parent: QTreeWidgetItem, values: dict) -> None:
        for key, value in values.items():
            nested = isinstance(value, dict)
            item = QTreeWidgetItem(parent, [str(key), "" if nested else format_value(value)])
            if nested:
                self._add_config_items(item, value)

    def _fill_checkpoints(self, checkpoints: list) -> None:
        self.checkpoints.setRowCount(len(checkpoints))
        for row, checkpoint in enumerate(checkpoints):
            cells = (str(checkpoint.step), human_size(checkpoint.size), checkpoint.sha256[:12],
                     metrics_text(checkpoint.metrics), checkpoint.path)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(checkpoint.sha256 if column == 2 else text)
                self.checkpoints.setItem(row, column, item)

    @Slot()
    def save_details(self) -> None:
        """Store the name, tags and notes typed in the Details tab."""
        if self._details_id is None:
            return
        try:
            run = self.state.store.update_run(self._details_id, name=self.name_edit.text().strip(),
                                              notes=self.notes_edit.toPlainText(),
                                              tags=parse_tags(self.tags_edit.text()))
        except StoreError as error:
            self._show_error(f"Could not save the run: {error}")
            return
        self.name_edit.setText(run.name)
        self.tags_edit.setText(", ".join(run.tags))
        self._info(f"Saved run {run.name!r}.")
        self.state.runs_changed.emit()

    # ---- actions on selected runs --------------------------------------------------------------------------

    @Slot()
    def show_diff(self) -> None:
        """List the settings the two selected runs differ in, side by side."""
        runs = self.selected_runs()
        if len(runs) != 2:
            self._show_error("Select exactly two runs to see how their settings differ.")
            return
        left, right = runs
        differences = config_diff(left.config, right.config)
        self.diff_table.setHorizontalHeaderLabels(("Setting", left.name, right.name))
        self.diff_table.setRowCount(len(differences))
        for row, difference in enumerate(differences):
            cells = (difference.key, format_value(difference.left), format_value(difference.right))
            for column, text in enumerate(cells):
                self.diff_table.setItem(row, column, QTableWidgetItem(text))
        self.diff_summary.setText(
            f"{len(differences)} setting{'s' if len(differences) != 1 else ''} differ between "
            f"{left.name!r} and {right.name!r}." if differences
            else f"{left.name!r} and {right.name!r} have the same settings.")
        self.tabs.setCurrentWidget(self.diff_page)

    @Slot()
    def show_comparison(self) -> None:
        """Draw the selected runs' validation and training losses on one chart."""
        runs = self.selected_runs()
        if len(runs) < 2:
            self._show_error("Select two or more runs to compare them.")
            return
        try:
            series = [(run.name, load_curves(self.state.store, run.id)) for run in runs]
        except StoreError as error:
            self._show_error(f"Could not read the metrics: {error}")
            return
        self.compare_chart.draw(series)
        empty = [name for name, curves in series if not curves]
        self._info(f"No losses recorded yet for {', '.join(empty)}." if empty else
                   f"Comparing {len(runs)} runs.")
        self.tabs.setCurrentWidget(self.compare_chart)

    @Slot()
    def resume_selected(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1 and self._resumable(runs[0]):
            self.resume_requested.emit(runs[0].id)

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected runs and their folders after the user confirms."""
        runs = self.selected_runs()
        if not runs:
            return
        names = ", ".join(repr(run.name) for run in runs)
        what = f"run {names}" if len(runs) == 1 else f"{len(runs)} runs ({names})"
        if not self._confirm(f"Delete {what}, with its metrics and checkpoint files? This cannot be undone."):
            return
        problems = []
        for run in runs:
            try:
                delete_run(self.state.workspace, run.id)
            except (UserError, StoreError) as error:
                problems.append(str(error))
        self.state.runs_changed.emit()
        if problems:
            self._show_error(f"Deleted {len(runs) - len(problems)} of {len(runs)} runs. " + " ".join(problems))
        else:
            self._info(f"Deleted {what}.")

    @Slot()
    def export_selected(self) -> None:
        """Write the selected runs' metrics to a CSV file the user picks (the format of `runs export`)."""
        runs = self.selected_runs()
        if not runs:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        stem = runs[0].name if len(runs) == 1 else "runs"
        path = self._ask_save_path(str(Path(folder or Path.home()) / f"{stem}-metrics.csv"))
        if not path:
            return
        try:
            with open(path, "w", newline="", encoding="utf-8") as out:
                rows = itertools.chain.from_iterable(
                    metrics_csv_rows(run.id, self.state.store.metrics(run.id)) for run in runs)
                count = write_metrics_csv(out, rows)
        except (OSError, StoreError) as error:
            self._show_error(f"Could not export the metrics: {error}")
            return
        self._info(f"Wrote {count:,} metric rows of {len(runs)} run{'s' if len(runs) > 1 else ''} to {path}.")

    # ---- dialogs and messages (tests replace the dialogs) --------------------------------------------------

    def _confirm(self, text: str) -> bool:
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel
        answer = QMessageBox.question(self, "Delete runs", text, buttons, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def _ask_save_path(self, suggested: str) -> str:
        return QFileDialog.getSaveFileName(self, "Export metrics", suggested, "CSV files (*.csv)")[0]

    def _info(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def _show_error(self, message: str, details: str = "") -> None:
        self.message.setStyleSheet("color: #c62828;")
        self.message.setText(message)
        notify_window(self, message, details)

    # ---- polling while visible -----------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()
        self.poll_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.poll_timer.stop()
        super().hideEvent(event)


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(RunsPanel)
