"""The Runs panel's tabs: Details (a run's summary, its editable name, tags and notes, and every setting it
started with), Curves, Checkpoints (saved weights), Diff (the settings two runs differ in) and Compare (several
runs' losses on one chart). The charts are `workbench.gui.run_charts`'.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.run_charts import CompareChart, RunDetailCharts
from workbench.store.records import CheckpointRecord, RunRecord
from workbench.views.curves import RunCurves
from workbench.views.run_compare import config_diff, describe_run, format_value, human_size, metrics_text


def _read_only(table: QTableWidget) -> QTableWidget:
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class RunDetails(QSplitter):
    """Name, tags, notes (saved by `save_button`, which the panel connects) and the summary on the left; the run's
    settings as a tree on the right. `shown` is the record on screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.shown: RunRecord | None = None
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The run's name; it must be unique and not only digits.")
        self.tags_edit = QLineEdit()
        self.tags_edit.setPlaceholderText("baseline, lr-sweep")
        self.tags_edit.setToolTip("Labels to find runs by, separated by commas.")
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setPlaceholderText("What this run tried and what you learned")
        self.notes_edit.setToolTip("Free notes about this run, kept in the database.")
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Store the name, tags and notes of this run.")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores = QLabel()
        self.scores.setWordWrap(True)
        self.scores.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scores.setToolTip("A distilled student's scores beside its teacher's: the bundled cloze suite "
                               "(precision@1 and MRR) and the best fine-tuning score of each model.")
        self.score_progress = QProgressBar()
        self.score_progress.setFormat("cloze suite: %v / %m models")
        self.score_progress.setToolTip("Measuring the cloze suite on the student and its teacher (recorded as the "
                                       "Probe panel's probe suite records it).")
        self.show_scores(None)
        form = QFormLayout()
        form.addRow("Name", self.name_edit)
        form.addRow("Tags", self.tags_edit)
        form.addRow("Notes", self.notes_edit)
        form.addRow("", self.save_button)
        left = QWidget()
        column = QVBoxLayout(left)  # not form rows: a form lays a wrapped label out one line short
        for widget in (self.info, self.scores, self.score_progress):
            column.addWidget(widget)
        column.addLayout(form, 1)
        self.config_tree = QTreeWidget()
        self.config_tree.setHeaderLabels(("Setting", "Value"))
        self.config_tree.setToolTip("Every setting the run was started with.")
        self.config_tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.addWidget(left)
        self.addWidget(self.config_tree)
        self.setSizes([450, 550])

    def edit(self, run: RunRecord | None) -> None:
        """Put `run`'s name, tags and notes in the fields (only when another run is chosen: a poll never
        overwrites typing); nothing to edit without a run."""
        self.name_edit.setText("" if run is None else run.name)
        self.tags_edit.setText("" if run is None else ", ".join(run.tags))
        self.notes_edit.setPlainText("" if run is None else run.notes or "")
        for widget in (self.name_edit, self.tags_edit, self.notes_edit, self.save_button):
            widget.setEnabled(run is not None)

    def show_run(self, run: RunRecord | None) -> None:
        """The summary and the settings of `run` (the tree is rebuilt only when the settings changed)."""
        if run is None or self.shown is None or run.config != self.shown.config:
            self.config_tree.clear()
            self._add_config_items(self.config_tree.invisibleRootItem(), {} if run is None else run.config)
            self.config_tree.expandAll()
        self.shown = run
        self.info.setText(describe_run(run) if run is not None else "Select a run to see its details.")

    def show_scores(self, lines: list[str] | None, progress: tuple[int, int] | None = None) -> None:
        """A distill run's score lines (None: hidden) and, while they are measured, `progress` (done, total)."""
        self.scores.setVisible(lines is not None)
        self.scores.setText("\n".join(lines or []))
        self.score_progress.setVisible(progress is not None)
        if progress is not None:
            self.score_progress.setRange(0, progress[1])
            self.score_progress.setValue(progress[0])

    def _add_config_items(self, parent: QTreeWidgetItem, values: dict) -> None:
        for key, value in values.items():
            nested = isinstance(value, dict)
            item = QTreeWidgetItem(parent, [str(key), "" if nested else format_value(value)])
            if nested:
                self._add_config_items(item, value)


class CheckpointTable(QTableWidget):
    """A run's checkpoints: step, size, short SHA-256 (the whole one as tooltip), metrics and folder."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 5, parent)
        self.setHorizontalHeaderLabels(("Step", "Size", "SHA-256", "Metrics", "Path"))
        self.setToolTip("Saved model weights; a stopped run resumes from the last one.")
        _read_only(self).horizontalHeader().setStretchLastSection(True)

    def fill(self, checkpoints: list[CheckpointRecord]) -> None:
        self.setRowCount(len(checkpoints))
        for row, checkpoint in enumerate(checkpoints):
            cells = (str(checkpoint.step), human_size(checkpoint.size), checkpoint.sha256[:12],
                     metrics_text(checkpoint.metrics), checkpoint.path)
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(checkpoint.sha256 if column == 2 else text)
                self.setItem(row, column, item)


class DiffPage(QWidget):
    """The settings two runs differ in, side by side (`table`), under a one-line `summary`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.summary = QLabel("Select two runs and press Diff to see the settings they differ in.")
        self.table = _read_only(QTableWidget(0, 3))
        self.table.setHorizontalHeaderLabels(("Setting", "first run", "second run"))
        for column in (1, 2):  # the two runs' values get equal room
            self.table.horizontalHeader().setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def show_diff(self, left: RunRecord, right: RunRecord) -> None:
        differences = config_diff(left.config, right.config)
        self.table.setHorizontalHeaderLabels(("Setting", left.name, right.name))
        self.table.setRowCount(len(differences))
        for row, difference in enumerate(differences):
            cells = (difference.key, format_value(difference.left), format_value(difference.right))
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.summary.setText(
            f"{len(differences)} setting{'s' if len(differences) != 1 else ''} differ between "
            f"{left.name!r} and {right.name!r}." if differences
            else f"{left.name!r} and {right.name!r} have the same settings.")


class RunTabs(QTabWidget):
    """The five tabs: `details`, `curves`, `checkpoints`, `diff_page` and `compare_chart`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.details = RunDetails()
        self.curves = RunDetailCharts()
        self.checkpoints = CheckpointTable()
        self.diff_page = DiffPage()
        self.compare_chart = CompareChart()
        for page, title in ((self.details, "Details"), (self.curves, "Curves"), (self.checkpoints, "Checkpoints"),
                            (self.diff_page, "Diff"), (self.compare_chart, "Compare")):
            self.addTab(page, title)

    def show_diff(self, left: RunRecord, right: RunRecord) -> None:
        """The Diff tab, on the settings `left` and `right` differ in."""
        self.diff_page.show_diff(left, right)
        self.setCurrentWidget(self.diff_page)

    def show_comparison(self, series: list[tuple[str, RunCurves]]) -> None:
        """The Compare tab, drawing each (run name, curves) of `series` in its own colour."""
        self.compare_chart.draw(series)
        self.setCurrentWidget(self.compare_chart)
