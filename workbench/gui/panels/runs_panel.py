"""The Runs panel: every recorded run in a sortable, searchable table; one run's settings, curves and checkpoints;
the settings two runs differ in; several runs' losses on one chart; rename, notes, tags, resume, delete, CSV
export of metrics and export of a model (Hugging Face or ONNX, `export_dialog`). The table re-reads the
database when a run changes and every two seconds while the panel is visible, so a run training elsewhere
(the Train panel, or the CLI in another terminal) shows its progress here.

The table's model is `runs_table`, the Details, Checkpoints and Diff tabs `runs_tabs`, a distilled student's
scores beside its teacher's `runs_scores`; renaming, deleting and exporting are `workbench.jobs` functions.
This module composes them and holds the selection and the actions.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QStandardPaths, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QSplitter, QVBoxLayout, QWidget

from workbench.gui.export_dialog import ExportDialog, export_dialog
from workbench.gui.notify import notify_window
from workbench.gui.open_hf_dialog import open_hf_button
from workbench.gui.panels.runs_scores import DistillScoreKeeper
from workbench.gui.panels.runs_table import RunsTable
from workbench.gui.panels.runs_tabs import RunTabs
from workbench.gui.panels.runs_toolbar import RunsToolbar
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.errors import one_line
from workbench.jobs.metrics_csv import export_metrics_csv
from workbench.jobs.runs import annotate_run, delete_runs
from workbench.store.records import RunRecord, StoreError
from workbench.views.curves import RunCurves, load_curves
from workbench.views.run_compare import can_resume, comparison_series, loss_notes, parse_tags

POLL_MS = 2000


class RunsPanel(QWidget):
    """The `toolbar`, the runs `table` (its `model` and `proxy`), the `tabs` about the selected runs, a message."""

    resume_requested = Signal(int)  # run id; the main window hands it to the Train panel

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self._details_id: int | None = None
        self.toolbar = RunsToolbar()
        self.toolbar.layout().addWidget(open_hf_button(self, state, runner))
        self.table = RunsTable()
        self.model, self.proxy = self.table.runs_model, self.table.proxy
        self.tabs = RunTabs()
        self.scores = DistillScoreKeeper(state, runner, self.tabs.details)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        splitter.setSizes([260, 440])
        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.message)
        self._connect()
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(POLL_MS)
        self.poll_timer.timeout.connect(self.refresh)
        state.runs_changed.connect(self.refresh)
        state.run_added.connect(self.select_run)
        self.refresh()

    def _connect(self) -> None:
        bar = self.toolbar
        bar.search.textChanged.connect(self._apply_filter)
        bar.status_filter.currentIndexChanged.connect(self._apply_filter)
        for button, slot in ((bar.refresh_button, self.refresh), (bar.diff_button, self.show_diff),
                             (bar.compare_button, self.show_comparison), (bar.resume_button, self.resume_selected),
                             (bar.delete_button, self.delete_selected), (bar.export_button, self.export_selected),
                             (bar.export_model_button, self.export_model)):
            button.clicked.connect(slot)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._update_buttons)
        selection.currentRowChanged.connect(self._on_current_changed)
        self.tabs.details.save_button.clicked.connect(self.save_details)

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
        selected = [run.id for run in self.table.selected_runs()]
        if self.model.set_runs(runs):
            self.table.select_ids(selected, self._details_id)
        current = next((run for run in runs if run.id == self._details_id), None)
        if current is None:
            self._show_run(None)
        elif current != self.tabs.details.shown:
            self._update_details(current)
        else:  # another run changed: a fine-tuning run of a shown student or teacher may have ended
            self.scores.show(current)
        self._update_buttons()

    @Slot(int)
    def select_run(self, run_id: int) -> None:
        """Select this run alone and show it (one just imported)."""
        self.refresh()
        self.table.clearSelection()
        self.table.select_ids([run_id], run_id)

    @Slot()
    def _apply_filter(self) -> None:
        self.proxy.set_filter(self.toolbar.search.text(), self.toolbar.status_filter.currentData())
        self._update_buttons()

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return  # filtered away or a reset: keep showing the run until it is deleted
        run = self.table.run_at(current)
        if run.id != self._details_id:
            self._show_run(run)
        elif run != self.tabs.details.shown:
            self._update_details(run)

    @Slot()
    def _update_buttons(self) -> None:
        runs = self.table.selected_runs()
        has_checkpoint = len(runs) == 1 and self.state.store.latest_checkpoint(runs[0].id) is not None
        self.toolbar.update_buttons(runs, len(runs) == 1 and can_resume(runs[0], has_checkpoint), has_checkpoint)

    def _resumable(self, run: RunRecord) -> bool:
        return can_resume(run, self.state.store.latest_checkpoint(run.id) is not None)

    # ---- one run's details ---------------------------------------------------------------------------------

    def _show_run(self, run: RunRecord | None) -> None:
        """Show another run: its editable fields are filled only here, so a poll never overwrites typing."""
        self._details_id = None if run is None else run.id
        self.tabs.details.edit(run)
        self._update_details(run)

    def _update_details(self, run: RunRecord | None) -> None:
        self.tabs.details.show_run(run)
        self.scores.show(run)
        try:
            checkpoints = [] if run is None else self.state.store.checkpoints(run.id)
            curves = RunCurves() if run is None else load_curves(self.state.store, run.id)
        except StoreError as error:
            self._show_error(f"Could not read run {run.name!r}: {error}")
            return
        self.tabs.checkpoints.fill(checkpoints)
        self.tabs.curves.show_curves(curves)

    @Slot()
    def save_details(self) -> None:
        """Store the name, tags and notes typed in the Details tab."""
        if self._details_id is None:
            return
        details = self.tabs.details
        try:
            run = annotate_run(self.state.workspace, self._details_id, details.name_edit.text(),
                               details.notes_edit.toPlainText(), parse_tags(details.tags_edit.text()))
        except StoreError as error:
            self._show_error(f"Could not save the run: {error}")
            return
        details.name_edit.setText(run.name)
        details.tags_edit.setText(", ".join(run.tags))
        self._info(f"Saved run {run.name!r}.")
        self.state.runs_changed.emit()

    # ---- actions on selected runs --------------------------------------------------------------------------

    @Slot()
    def show_diff(self) -> None:
        """List the settings the two selected runs differ in, side by side."""
        runs = self.table.selected_runs()
        if len(runs) != 2:
            self._show_error("Select exactly two runs to see how their settings differ.")
            return
        self.tabs.show_diff(*runs)

    @Slot()
    def show_comparison(self) -> None:
        """Draw the selected runs' validation and training losses on one chart."""
        runs = self.table.selected_runs()
        if len(runs) < 2:
            self._show_error("Select two or more runs to compare them.")
            return
        try:
            series = [comparison_series(run, load_curves(self.state.store, run.id)) for run in runs]
        except StoreError as error:
            self._show_error(f"Could not read the metrics: {error}")
            return
        self.tabs.show_comparison(series)
        empty = [name for name, curves in series if not curves]
        self._info(f"No losses recorded yet for {', '.join(empty)}." if empty else
                   f"Comparing {len(runs)} runs. {loss_notes(runs)}".strip())

    @Slot()
    def resume_selected(self) -> None:
        runs = self.table.selected_runs()
        if len(runs) == 1 and self._resumable(runs[0]):
            self.resume_requested.emit(runs[0].id)

    @Slot()
    def delete_selected(self) -> None:
        """Delete the selected runs and their folders after the user confirms."""
        runs = self.table.selected_runs()
        if not runs:
            return
        live = [run for run in runs if run.status in ("running", "paused")]
        if live:  # said before any question: a training run cannot be deleted under its own feet
            self._show_error(f"Run {live[0].name!r} is {live[0].status} now: press Stop on the "
                             f"{'Fine-tune' if live[0].kind == 'finetune' else 'Train'} panel first, then delete it.")
            return
        names = ", ".join(repr(run.name) for run in runs)
        what = f"run {names}" if len(runs) == 1 else f"{len(runs)} runs ({names})"
        if not self._confirm(f"Delete {what}, with its metrics and checkpoint files? This cannot be undone."):
            return
        problems = delete_runs(self.state.workspace, [run.id for run in runs])
        self.state.runs_changed.emit()
        if problems:
            self._show_error(f"Deleted {len(runs) - len(problems)} of {len(runs)} runs. " + " ".join(problems))
        else:
            self._info(f"Deleted {what}.")

    @Slot()
    def export_selected(self) -> None:
        """Write the selected runs' metrics to a CSV file the user picks (the format of `runs export`)."""
        runs = self.table.selected_runs()
        if not runs:
            return
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        stem = runs[0].name if len(runs) == 1 else "runs"
        path = self._ask_save_path(str(Path(folder or Path.home()) / f"{stem}-metrics.csv"))
        if not path:
            return
        try:
            count = export_metrics_csv(self.state.store, [run.id for run in runs], path)
        except (OSError, StoreError) as error:
            self._show_error(f"Could not export the metrics: {one_line(error)}. Choose another file or folder.")
            return
        self._info(f"Wrote {count:,} metric rows of {len(runs)} run{'s' if len(runs) > 1 else ''} to {path}.")

    @Slot()
    def export_model(self) -> ExportDialog | None:
        """Open the "Export model…" dialog on the one selected run."""
        runs = self.table.selected_runs()
        if len(runs) != 1:
            return None
        try:
            checkpoints = self.state.store.checkpoints(runs[0].id)
        except StoreError as error:
            self._show_error(f"Could not read run {runs[0].name!r}: {error}")
            return None
        if not checkpoints:
            self._show_error(f"Run {runs[0].name!r} has no checkpoint to export yet.")
            return None
        return export_dialog(self, self.state.home, runs[0], checkpoints, self.runner)

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
