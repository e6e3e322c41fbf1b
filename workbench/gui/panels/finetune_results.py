"""What the Fine-tune panel shows of its runs: live curves (training loss, validation metric) with the scratch
baseline overlaid, the confusion-matrix heatmap and the per-class (per-type) scores, and a try-it box.

Curves follow QT-NOTES: events only append to `ArmCurves` buffers; a 10 Hz timer redraws what changed and
re-ranges at most twice a second. Predictions in the try-it box run in a background `Task` (a model is loaded
from its checkpoint), and the answer comes back as HTML built by `workbench.views.finetune_view`.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.run_charts import PALETTE, MetricChart
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import in_workspace
from workbench.views.finetune_view import (
    ARMS,
    MAIN_METRIC,
    ArmCurves,
    answer_html,
    arm_names,
    entity_types,
    heat_colour,
    predict_arms,
    probabilities_html,
    score_rows,
    tagged_html,
)

ARM_COLOURS = {"finetune": PALETTE[0], "baseline": PALETTE[1]}
REDRAW_MS, RERANGE_S = 100, 0.5
NO_SCORES = "The scores of the best epoch appear here when a run ends."


class FinetuneCurves(QWidget):
    """Training loss and the validation metric of the fine-tune and of its baseline, side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = MetricChart("Training loss", "cross-entropy")
        self.metric_chart = MetricChart("Validation accuracy", "accuracy")
        self.metric_chart.legend.anchor(itemPos=(1, 1), parentPos=(1, 1), offset=(-10, -10))  # high scores stay visible
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss)
        layout.addWidget(self.metric_chart)
        self.arms: dict[str, ArmCurves] = {}
        self.names = arm_names(pretrained=True)
        self._items: dict[tuple[str, str], object] = {}
        self._drawn: dict[str, int] = {}
        self._ranged_at = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def reset(self, task: str, names: dict[str, str]) -> None:
        """Empty curves for `task`; `names`: each arm's legend name (finetune_view.arm_names)."""
        self.names = dict(names)
        key, title = MAIN_METRIC[task]
        self.metric_chart.setTitle(f"Validation {title}", color="#222222", size="10pt")
        self.metric_chart.setLabel("left", title)
        self.arms = {arm: ArmCurves(key) for arm in ARMS}
        self._items, self._drawn = {}, {}
        for chart in (self.loss, self.metric_chart):
            chart.clear_curves()

    def add(self, arm: str, event: object) -> None:
        if arm in self.arms:
            self.arms[arm].add(event)

    @Slot()
    def _tick(self) -> None:
        changed = [arm for arm, curves in self.arms.items() if curves.version != self._drawn.get(arm)]
        for arm in changed:
            curves = self.arms[arm]
            self._draw(arm, "loss", self.loss, curves.loss_steps, curves.loss, symbol=False)
            self._draw(arm, "metric", self.metric_chart, curves.metric_steps, curves.metric_values, symbol=True)
            self._drawn[arm] = curves.version
        if changed and time.monotonic() - self._ranged_at > RERANGE_S:
            self.fit()

    def _draw(self, arm: str, which: str, chart: MetricChart, xs: list, ys: list, symbol: bool) -> None:
        if not xs:
            return
        item = self._items.get((arm, which))
        if item is None:
            item = chart.add_curve(self.names[arm], ([], []), ARM_COLOURS[arm], width=2.5 if symbol else 1.5,
                                   symbol=symbol)
            self._items[(arm, which)] = item
        item.setData(xs, ys)

    def fit(self) -> None:
        """Range both charts to their data; scores are fractions, so the metric's axis ends at 1."""
        self._ranged_at = time.monotonic()
        self.loss.fit()
        values = [v for curves in self.arms.values() for v in curves.metric_values]
        if values:  # the same steps as the loss chart, so epochs line up with the loss under them
            self.metric_chart.setXRange(*self.loss.viewRange()[0], padding=0)
            self.metric_chart.setYRange(max(0.0, min(values) - 0.1), 1.0, padding=0.02)


class ScoresView(QWidget):
    """The confusion matrix as a heatmap (rows: true label, columns: predicted) and a per-class table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(NO_SCORES)
        self.title.setWordWrap(True)
        self.confusion = QTableWidget(0, 0)
        self.confusion.setToolTip("Confusion matrix: each row is the true label, each column the predicted one; "
                                  "the diagonal holds the right answers. Darker means more examples.")
        self.scores = QTableWidget(0, 5)
        self.scores.setHorizontalHeaderLabels(["", "precision", "recall", "F1", "support"])
        self.scores.setToolTip("Per class (or entity type): precision = right among those predicted, recall = "
                               "found among the true ones, F1 = their harmonic mean, support = true examples.")
        for table in (self.confusion, self.scores):
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.scores.verticalHeader().setVisible(False)
        self.scores.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)  # all five in view
        tables = QHBoxLayout()
        tables.addWidget(self.confusion, 1)
        tables.addWidget(self.scores, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(tables, 1)

    def show_details(self, title: str, details: dict) -> None:
        self.title.setText(title)
        self._show_confusion(details.get("labels", []), details.get("confusion", []))
        rows = score_rows(details)
        self.scores.setRowCount(len(rows))
        for r, (name, precision, recall, f1, support) in enumerate(rows):
            for c, text in enumerate((name, f"{precision:.1%}", f"{recall:.1%}", f"{f1:.1%}", f"{support:,}")):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight if c else Qt.AlignmentFlag.AlignLeft)
                self.scores.setItem(r, c, item)

    def _show_confusion(self, labels: list[str], matrix: list[list[int]]) -> None:
        self.confusion.setVisible(bool(matrix))
        self.confusion.setRowCount(len(labels))
        self.confusion.setColumnCount(len(labels))
        self.confusion.setHorizontalHeaderLabels([f"predicted {label}" for label in labels])
        self.confusion.setVerticalHeaderLabels([f"true {label}" for label in labels])
        peak = max((max(row) for row in matrix), default=0)
        for r, row in enumerate(matrix):
            for c, count in enumerate(row):
                item = QTableWidgetItem(f"{count:,}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                item.setBackground(QColor(heat_colour(count, peak)))
                item.setForeground(QColor("#ffffff" if peak and count / peak > 0.55 else "#222222"))
                self.confusion.setItem(r, c, item)
        self.confusion.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)

    def clear(self) -> None:
        self.show_details(NO_SCORES, {})


class TryItBox(QWidget):
    """Type a text, see the fine-tuned model's answer (and the baseline's, when there is one)."""

    predicted = Signal()

    def __init__(self, home: Path, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.home, self.runner = home, runner
        self.runs: dict[str, int] = {}
        self.task_name, self.labels = "classify", []
        self.pending: Task | None = None
        self.text = QLineEdit()
        self.text.setPlaceholderText("type a sentence, then press Enter")
        self.text.setToolTip("The text to run the fine-tuned model on (for questions: the question).")
        self.pair = QLineEdit()
        self.pair.setPlaceholderText("second sentence (optional)")
        self.pair.setToolTip("For sentence-pair tasks: the second sentence.")
        self.context = QPlainTextEdit()
        self.context.setPlaceholderText("the passage to find the answer in")
        self.context.setToolTip("Questions only: the passage the answer is taken from.")
        self.context.setMaximumHeight(70)
        self.button = QPushButton("Predict")
        self.button.setToolTip("Run the fine-tuned model (and its scratch baseline, if trained) on this text.")
        self.output = QLabel("Train a model, then try it here.")
        self.output.setWordWrap(True)
        self.output.setTextFormat(Qt.TextFormat.RichText)
        self.output.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.output.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.text, 2)
        row.addWidget(self.pair, 1)
        row.addWidget(self.button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.context)
        layout.addWidget(self.output, 1)
        self.text.returnPressed.connect(self.predict)
        self.button.clicked.connect(self.predict)
        self.set_runs("classify", {}, [], {})

    def set_runs(self, task: str, runs: dict[str, int], labels: list[str], names: dict[str, str]) -> None:
        """The runs to ask ({arm: run id}), their task and labels, and what to call each arm."""
        self.task_name, self.runs, self.labels, self.names = task, dict(runs), list(labels), dict(names)
        self.pair.setVisible(task == "classify")
        self.context.setVisible(task == "qa")
        self.button.setEnabled(bool(runs))
        self.text.setPlaceholderText("type a question, then press Enter" if task == "qa" else
                                     "type a sentence, then press Enter")

    @Slot()
    def predict(self) -> None:
        text = self.text.text().strip()
        if not self.runs or not text or self.pending is not None:
            return
        runs, home = dict(self.runs), self.home
        pair, context = self.pair.text().strip() or None, self.context.toPlainText().strip() or None

        self.pending = Task("prediction", lambda task: in_workspace(home, predict_arms, runs, text, pair, context))
        self.pending.succeeded.connect(self._on_predicted)
        self.pending.failed.connect(self._on_failed)
        self.pending.done.connect(self._on_done)
        self.output.setText("<i>predicting…</i>")
        self.runner.start(self.pending)

    @Slot(object)
    def _on_predicted(self, outputs: dict) -> None:
        parts = []
        for arm, output in outputs.items():
            parts.append(f"<p><u>{self.names[arm]}</u></p>{self._html(output)}")
        self.output.setText("".join(parts))
        self.predicted.emit()

    def _html(self, output: dict) -> str:
        if output["task"] == "classify":
            return probabilities_html(output["probabilities"])
        if output["task"] == "tag":
            return tagged_html(output["tokens"], output["entities"], entity_types(self.labels))
        return answer_html(self.context.toPlainText(), output["answer"])

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.output.setText(f"<span style='color:#c0392b'>Could not predict: {html.escape(message)}</span>")
        self.predicted.emit()

    @Slot()
    def _on_done(self) -> None:
        self.pending = None
