"""The Suites view: LAMA-style cloze tests. A suite file (by default the bundled sample_cloze.tsv) is evaluated
on the chosen checkpoint or on every checkpoint of the run, in the background with progress and a Cancel
button; precision@1, precision@k and MRR are shown overall and per group, and plotted against training step
so a user watches knowledge appear. Results are stored in the database (one per checkpoint and suite version)
and shown again when the run is chosen later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing import ProbeInputError, load_suite
from workbench.gui.panels.probe_common import ProbeContext, message_label, show_message
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.gui.run_charts import PALETTE, MetricChart
from workbench.gui.workers import Task
from workbench.jobs.probe import default_suite_path
from workbench.jobs.workspace import in_workspace
from workbench.views.probe_export import SUITE_HEADER, file_stem, suite_rows, write_csv
from workbench.views.probe_views import SuiteRun, run_suite_cancellable, suite_curves, suite_table_rows

COLUMNS = ("Group", "Items", "precision@1", "precision@k", "MRR")
OVERALL = "overall"


class SuiteView(QWidget):
    """The cloze suites; the minimal-pair view (`probe_pairs.PairSuiteView`) overrides the hooks marked below."""

    KIND = "suite"  # the export's label ("suite results") and file names
    CHART_TITLE = "Knowledge during training"
    PATH_TIP = ("A cloze test file: TSV with columns sentence, answers (joined by |) and group, or JSONL; each "
                "sentence has one [MASK].")

    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.task: Task | None = None
        self.last_run: SuiteRun | None = None
        self.results: list = []  # the stored results of this suite version on the chosen run, by step
        self._build()
        context.models_changed.connect(self.show_stored)

    def _build(self) -> None:
        self.path = QLineEdit(str(self._default_path()))
        self.path.setToolTip(self.PATH_TIP)
        self.path.editingFinished.connect(self.show_stored)
        browse = QPushButton("Browse...")
        browse.setToolTip("Choose another suite file.")
        browse.clicked.connect(self._browse)
        self.evaluate_one = QPushButton("Evaluate this checkpoint")
        self.evaluate_one.setToolTip("Score the suite on the checkpoint chosen above and store the result.")
        self.evaluate_one.clicked.connect(lambda: self.evaluate(all_checkpoints=False))
        self.evaluate_all = QPushButton("Evaluate all checkpoints")
        self.evaluate_all.setToolTip("Score the suite on every checkpoint of the run, oldest first, to see "
                                     "knowledge appear during training.")
        self.evaluate_all.clicked.connect(lambda: self.evaluate(all_checkpoints=True))
        self.cancel = QPushButton("Cancel")
        self.cancel.setToolTip("Stop after the checkpoint being evaluated; the ones done stay stored.")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self._cancel)
        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m checkpoints")
        self.progress.setVisible(False)
        self.scope = QComboBox()
        self.scope.setToolTip("Plot the whole suite or one group of it.")
        self.scope.currentIndexChanged.connect(self._plot)
        top = QHBoxLayout()
        for widget in (QLabel("Suite:"), self.path, browse, *self._options()):
            top.addWidget(widget)
        actions = QHBoxLayout()
        for widget in (self.evaluate_one, self.evaluate_all, self.cancel, self.progress):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(QLabel("Plot:"))
        actions.addWidget(self.scope)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.chart = MetricChart(self.CHART_TITLE, "score")
        self.chart.getAxis("left").enableAutoSIPrefix(False)
        self.pictures = QSplitter()
        self.pictures.addWidget(self.table)
        self.pictures.addWidget(self.chart)
        for widget in self._extra_pictures():
            self.pictures.addWidget(widget)
        self.pictures.setSizes([450, 600])
        self.status = message_label()
        self.export_button = ExportButton(self._export_targets(), self.status)
        actions.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.pictures, 1)
        layout.addWidget(self.status)

    # ---- evaluating ---------------------------------------------------------------------------------------------

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a probe suite", str(Path(self.path.text()).parent),
                                              "Probe suites (*.tsv *.jsonl *.json);;All files (*)")
        if path:
            self.path.setText(path)
            self.show_stored()

    def evaluate(self, all_checkpoints: bool) -> None:
        model = self.context.primary
        if model is None or self.task is not None:
            return
        home, run_id, step, path = self.context.state.home, model.run_id, model.step, self.path.text().strip()
        job = self._job(path or None, None if all_checkpoints else step, all_checkpoints)
        task = Task(f"probe {self.KIND}", lambda task: in_workspace(
            home, job, run_id, progress=lambda done, total: task.report("checkpoints", done, total),
            cancelled=lambda: task.cancelled))
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_evaluated)
        task.failed.connect(self._on_failed)
        task.done.connect(self._on_task_done)
        self.task = task
        self._set_running(True)
        show_message(self.status, "evaluating ...")
        self.context.runner.start(task)

    def _set_running(self, running: bool) -> None:
        self.evaluate_one.setEnabled(not running)
        self.evaluate_all.setEnabled(not running)
        self.cancel.setEnabled(running)
        self.progress.setVisible(running)
        self.progress.setRange(0, 0)  # busy until the first checkpoint is done

    @Slot()
    def _cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
            show_message(self.status, "cancelling after the checkpoint being evaluated ...")

    @Slot(str, int, object)
    def _on_progress(self, stage: str, done: int, total: object) -> None:
        self.progress.setRange(0, int(total or 0))
        self.progress.setValue(done)

    @Slot(object)
    def _on_evaluated(self, run: SuiteRun) -> None:
        self.last_run = run
        if run.cancelled:
            show_message(self.status, "cancelled; the checkpoints evaluated before stay stored")
        else:
            notes = getattr(run.results[-1][1], "notes", []) if run.results else []
            steps = ", ".join(f"{record.checkpoint_step:,}" for record, _ in run.results)
            show_message(self.status, f"evaluated at step {steps}" + (f"; note: {notes[0]}" if notes else ""))
        self.show_stored()

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        show_message(self.status, message, error=True)

    @Slot()
    def _on_task_done(self) -> None:
        self.task = None
        self._set_running(False)

    # ---- showing what is stored ----------------------------------------------------------------------------------

    def _stored_results(self) -> list:
        model = self.context.primary
        if model is None:
            return []
        try:
            sha = self._version(self.path.text().strip())
        except ProbeInputError as error:
            show_message(self.status, str(error), error=True)
            return []
        return self.context.state.store.probe_results(model.run_id, sha)

    @Slot()
    def show_stored(self) -> None:
        """The table for the chosen checkpoint and the plot over the run's checkpoints, from the database."""
        self.results = results = self._stored_results()
        model = self.context.primary
        current = next((r for r in results if model is not None and r.checkpoint_step == model.step), None)
        self._fill_table(current.metrics if current else None)
        groups = sorted(results[-1].metrics["groups"]) if results else []
        chosen = self.scope.currentText()
        self.scope.blockSignals(True)
        self.scope.clear()
        self.scope.addItems([*self._scopes(), *groups])
        self.scope.setCurrentIndex(max(self.scope.findText(chosen), 0))
        self.scope.blockSignals(False)
        self._plot()
        if current is None and model is not None and self.task is None:
            show_message(self.status, f"step {model.step:,} has no result for this suite yet: press Evaluate")

    def _fill_table(self, metrics: dict | None) -> None:
        rows = self._table_rows(metrics) if metrics else []
        self.table.setHorizontalHeaderLabels(self._columns(metrics))
        self.table.setRowCount(len(rows))
        for row, values in enumerate(rows):
            for column, value in enumerate(values):
                text = f"{value:.3f}" if isinstance(value, float) else str(value)
                self.table.setItem(row, column, QTableWidgetItem(text))

    @Slot()
    def _plot(self) -> None:
        self.chart.clear_curves()
        for index, (name, steps, values) in enumerate(self._curves(self.scope.currentText())):
            self.chart.add_curve(name, (steps, values), PALETTE[index % len(PALETTE)], symbol=True)
        self.chart.fit()
        self.chart.setYRange(0.0, 1.0, padding=0.03)  # scores are fractions: keep the whole scale in view

    def _file_stem(self) -> str:
        model = self.context.primary
        return file_stem(self.KIND, Path(self.path.text().strip()).stem, model.run_name if model else None)

    # ---- what a kind of suite changes (hooks) ----------------------------------------------------------------------

    def _options(self) -> list[QWidget]:
        """The suite's own settings, beside the file."""
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 100)
        self.top_k.setValue(10)
        self.top_k.setToolTip("An item counts for precision@k when a right answer is among the model's k best guesses.")
        return [QLabel("k:"), self.top_k]

    def _extra_pictures(self) -> list[QWidget]:
        """More pictures beside the table and the chart."""
        return []

    def _default_path(self) -> Path:
        return default_suite_path(self.context.state.workspace)

    def _version(self, path: str) -> str:
        """The sha256 its results are stored under."""
        return load_suite(path).sha256

    def _job(self, path: str | None, step: int | None, all_checkpoints: bool) -> Callable[..., SuiteRun]:
        """What the worker runs in its own workspace: (ws, run_id, progress=, cancelled=) -> SuiteRun."""
        k = self.top_k.value()
        return lambda ws, run_id, **kw: run_suite_cancellable(ws, run_id, path, step, all_checkpoints, k, **kw)

    def _columns(self, metrics: dict | None) -> list[str]:
        k = metrics["k"] if metrics else self.top_k.value()
        return [*COLUMNS[:3], f"precision@{k}", COLUMNS[4]]

    def _table_rows(self, metrics: dict) -> list[tuple]:
        return suite_table_rows(metrics)

    def _scopes(self) -> list[str]:
        return [OVERALL]

    def _curves(self, scope: str) -> list[tuple[str, list[int], list[float]]]:
        return suite_curves(self.results, None if scope in ("", OVERALL) else scope)

    def _export_targets(self) -> list[ExportTarget]:
        return [ExportTarget(f"{self.KIND} results", self.pictures, self._write_csv, self._file_stem,
                             lambda: bool(self.results))]

    def _write_csv(self, path: Path) -> Path:
        return write_csv(path, SUITE_HEADER, suite_rows(self.results))
