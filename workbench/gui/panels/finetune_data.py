"""The Fine-tune panel's form: task and data files (with a column mapping and preview for tables), the base
model (a pretraining checkpoint, or a preset from scratch) and the settings, each with a tooltip.
`FinetuneForm.spec()` reads a `FinetuneSpec` from it; the bundled demo sets are the default files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.devices import available_devices
from workbench.core.finetune.data import DataError, preview_table
from workbench.gui.settings_form import SettingsForm
from workbench.jobs.errors import one_line
from workbench.jobs.finetune import FinetuneSpec
from workbench.samples.tasks import demo_paths
from workbench.settings.finetune import FinetuneConfig, lr_for_size
from workbench.settings.model import PRESETS
from workbench.views.finetune_view import TASK_TITLES, BaseModel, guess_columns

NONE = "(none)"
FIELDS = ("lr", "head_lr", "epochs", "batch_size", "warmup_ratio", "weight_decay", "max_len", "freeze_embeddings",
          "freeze_layers", "seed", "early_stopping", "device")
QA_GROUP, QA_FIELDS = "Question answering", ("doc_stride", "max_answer_len", "no_answer")
FILE_FILTERS = {"classify": "Tables (*.csv *.tsv *.jsonl);;All files (*)", "tag": "CoNLL (*.conll *.txt *.iob);;All "
                "files (*)", "qa": "SQuAD JSON (*.json);;All files (*)"}


class FileRow(QWidget):
    """A path box with a Browse… button."""

    changed = Signal()

    def __init__(self, placeholder: str, tooltip: str) -> None:
        super().__init__()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setToolTip(tooltip)
        self.browse = QPushButton("Browse…")
        self.browse.setToolTip("Choose the file in a dialog.")
        self.filters = "All files (*)"
        self.browse.clicked.connect(self._browse)
        self.edit.editingFinished.connect(self.changed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.browse)

    @Slot()
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a data file", self.edit.text(), self.filters)
        if path:
            self.set_path(path)

    def set_path(self, path: str) -> None:
        self.edit.setText(path)
        self.changed.emit()

    def path(self) -> str | None:
        return self.edit.text().strip() or None


class DataGroup(QGroupBox):
    """Task, training, validation and test files, and for tables the text / pair / label columns with a
    preview. `checked` is emitted after each look at the training file (`problem()` says what is wrong)."""

    checked = Signal()

    def __init__(self) -> None:
        super().__init__("Task and data")
        self.task = QComboBox()
        for name, title in TASK_TITLES.items():
            self.task.addItem(title, name)
        self.task.setToolTip("What the model learns: a label per sentence, a tag per word (names, places…), or "
                             "the answer span of a question in a passage.")
        self.train = FileRow("training file", "The labelled examples the model learns from.")
        self.validation = FileRow("none: 10% of the training file", "Examples kept apart to measure the model "
                                  "after each epoch; empty: 10% of the training file is set aside.")
        self.test = FileRow("none: the validation score also chose the epoch", "Held-out examples scored once "
                            "after training, with the epoch the validation file chose: a score that did not choose "
                            "the epoch, so it is not optimistic.")
        self.demo = QPushButton("Use the demo data")
        self.demo.setToolTip("The bundled demo sets made for the sample corpus (classification and tagging).")
        self.text_column, self.pair_column, self.label_column = QComboBox(), QComboBox(), QComboBox()
        self.text_column.setToolTip("The column holding the sentence to classify.")
        self.pair_column.setToolTip("Optional second sentence, for tasks on sentence pairs (read as [CLS] a [SEP] "
                                    "b [SEP]).")
        self.label_column.setToolTip("The column holding the right answer (a word or a number).")
        self.preview = QTableWidget(0, 0)
        self.preview.setToolTip("The first rows of the training file; the chosen columns are named in the header.")
        self.preview.setMinimumHeight(140)
        self.preview.verticalHeader().setVisible(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #c0392b;")
        self._columns: list[str] = []
        self.form = QFormLayout(self)
        for label, widget in (("Task", self.task), ("Training file", self.train),
                              ("Validation file", self.validation), ("Test file", self.test), ("", self.demo),
                              ("Text column", self.text_column), ("Pair column", self.pair_column),
                              ("Label column", self.label_column)):
            self.form.addRow(label, widget)
        self.form.addRow(self.preview)
        self.form.addRow(self.message)
        self.task.currentIndexChanged.connect(self._task_changed)
        self.demo.clicked.connect(self.use_demo)
        self.train.changed.connect(self._load_columns)
        for combo in (self.text_column, self.pair_column, self.label_column):
            combo.currentIndexChanged.connect(self._mark_preview)
        self._task_changed()

    def task_name(self) -> str:
        return self.task.currentData()

    def set_task(self, name: str) -> None:
        self.task.setCurrentIndex(self.task.findData(name))

    @Slot()
    def _task_changed(self) -> None:
        task = self.task_name()
        for widget in (self.train, self.validation, self.test):
            widget.filters = FILE_FILTERS[task]
        self.test.set_path("")  # the demo sets have no test file, and another task's file does not fit
        for widget in (self.text_column, self.pair_column, self.label_column, self.preview):
            self.form.setRowVisible(widget, task == "classify")
        self.demo.setEnabled(task != "qa")
        if task == "qa":  # no bundled QA set: the user brings a SQuAD file
            self.validation.set_path("")
            self.train.set_path("")
        else:
            self.use_demo()

    @Slot()
    def use_demo(self) -> None:
        train, validation = demo_paths(self.task_name())
        self.validation.set_path(str(validation))
        self.train.set_path(str(train))

    @Slot()
    def _load_columns(self) -> None:
        self.message.clear()
        try:
            self._read_training_file()
        except (OSError, DataError) as error:
            self.message.setText(f"Cannot read the training file: {one_line(error)}. Choose another file with "
                                 "Browse…" + ("" if self.task_name() == "qa" else ", or press Use the demo data."))
            self.preview.setRowCount(0)
        self.checked.emit()

    def problem(self) -> str:
        """Why Start cannot use the training file ("" when it can, or when none is chosen yet)."""
        return self.message.text()

    def _read_training_file(self) -> None:
        path = self.train.path()
        if not path:
            return
        if self.task_name() != "classify":
            with open(path, "rb"):  # tagging and QA files are read when the run starts: here, only that they open
                return
        columns, rows = preview_table(path, limit=6)
        text, pair, label = guess_columns(columns)
        for combo, choice, optional in ((self.text_column, text, False), (self.pair_column, pair, True),
                                        (self.label_column, label, False)):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(([NONE] if optional else []) + columns)
            combo.setCurrentText(choice or NONE)
            combo.blockSignals(False)
        self.preview.setColumnCount(len(columns))
        self.preview.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                self.preview.setItem(r, c, QTableWidgetItem(value))
        self._columns = columns
        self._mark_preview()

    @Slot()
    def _mark_preview(self) -> None:
        roles = {self.text_column.currentText(): "text", self.pair_column.currentText(): "pair",
                 self.label_column.currentText(): "label"}
        headers = [f"{c} → {roles[c]}" if c in roles else c for c in self._columns]
        self.preview.setHorizontalHeaderLabels(headers)
        self.preview.resizeColumnsToContents()

    def columns(self) -> dict[str, str | None]:
        if self.task_name() != "classify":
            return {}
        pair = self.pair_column.currentText()
        return {"text_column": self.text_column.currentText() or None, "label_column": self.label_column.currentText()
                or "label", "text_pair_column": None if pair in (NONE, "") else pair}


class BaseModelGroup(QGroupBox):
    """A pretraining checkpoint to start from, or a preset with random weights."""

    def __init__(self) -> None:
        super().__init__("Base model")
        self.pretrained = QRadioButton("Pretrained run")
        self.pretrained.setToolTip("Start from a model you pretrained on the Train panel: what it learned carries "
                                   "over.")
        self.scratch = QRadioButton("From scratch")
        self.scratch.setToolTip("Start from random weights: the baseline that shows what pretraining buys.")
        self.checkpoint = QComboBox()
        self.checkpoint.setToolTip("The pretraining run and saved step to start from.")
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS))
        self.preset.setCurrentText("tiny")
        self.preset.setToolTip("Model size when starting from scratch (uses the newest tokenizer).")
        self.pretrained.toggled.connect(self._toggled)
        self.user_chose = False  # until the user picks, refresh() follows the recommended checkpoint
        self.models: dict[str, int | None] = {}  # reference -> hidden size
        for signal in (self.pretrained.clicked, self.scratch.clicked, self.checkpoint.activated):
            signal.connect(self._chosen)
        form = QFormLayout(self)
        form.addRow(self.pretrained, self.checkpoint)
        form.addRow(self.scratch, self.preset)

    def refresh(self, models: Sequence[BaseModel]) -> None:
        """Offer these pretraining checkpoints (views.finetune_view.base_models): the user's choice while it
        stays, else the recommended one (a new finished run replaces an earlier recommendation)."""
        current = self.checkpoint.currentData() if self.user_chose else None
        self.models = {model.reference: model.hidden_size for model in models}
        self.checkpoint.clear()
        for model in models:
            self.checkpoint.addItem(model.label, model.reference)
        pick = current if current is not None and self.checkpoint.findData(current) >= 0 else \
            next((model.reference for model in models if model.recommended), None)
        if pick is not None:
            self.checkpoint.setCurrentIndex(self.checkpoint.findData(pick))
        has_runs = self.checkpoint.count() > 0
        self.pretrained.setEnabled(has_runs)
        if not has_runs:
            self.checkpoint.addItem("no pretraining run yet: train one on the Train panel")
        keep_scratch = self.user_chose and self.scratch.isChecked()
        (self.pretrained if has_runs and not keep_scratch else self.scratch).setChecked(True)
        self._toggled()

    @Slot()
    def _chosen(self) -> None:
        self.user_chose = True

    @Slot()
    def _toggled(self) -> None:
        self.checkpoint.setEnabled(self.pretrained.isChecked())
        self.preset.setEnabled(self.scratch.isChecked())

    def hidden_size(self) -> int | None:
        """The hidden size of the model the run would start from, when known (for the learning rate's default)."""
        if self.pretrained.isChecked():
            return self.models.get(self.checkpoint.currentData())
        return PRESETS[self.preset.currentText()]["hidden_size"]

    def source(self) -> dict[str, str | None]:
        if self.pretrained.isChecked() and self.checkpoint.currentData():
            return {"from_run": self.checkpoint.currentData()}
        return {"scratch": self.preset.currentText()}


class SettingsGroup(SettingsForm):
    """Learning rates, epochs, batch, warm-up, weight decay, length, freezing, seed, early stopping, device: made
    from `FinetuneConfig`'s metadata (the task is the data group's), plus the run's name; QA's windows and
    no-answer choice in a group of their own, shown for the QA task only."""

    def __init__(self) -> None:
        super().__init__(FinetuneConfig, [("Settings", FIELDS), (QA_GROUP, QA_FIELDS)],
                         choices={"device": available_devices()})
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (run-N)")
        self.name.setToolTip("A name to find this run again later; left empty, it is called run-N.")
        self.layouts["Settings"].insertRow(0, "Name", self.name)
        self.fields["lr"].changed.connect(self._follow_lr)
        self.fields["head_lr"].changed.connect(self._follow_lr)
        self._follow_lr()

    def show_task(self, task: str) -> None:
        self.layouts[QA_GROUP].parentWidget().setVisible(task == "qa")

    @Slot()
    def _follow_lr(self) -> None:
        """While the head's rate is the model's (and that one chosen), its box shows that rate."""
        head, lr = self.fields["head_lr"], self.fields["lr"].value()
        if head.is_none() and lr is not None:
            head.editor.setValue(lr)


class FinetuneForm(QWidget):
    """The three groups in a column; `spec()` is the run Start would launch."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data, self.base, self.settings = DataGroup(), BaseModelGroup(), SettingsGroup()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for group in (self.data, self.base, self.settings):
            layout.addWidget(group)
        layout.addStretch(1)
        self.data.task.currentIndexChanged.connect(lambda: self.settings.show_task(self.data.task_name()))
        self.settings.show_task(self.data.task_name())
        for signal in (self.base.pretrained.toggled, self.base.checkpoint.currentIndexChanged,
                       self.base.preset.currentIndexChanged):
            signal.connect(self.show_default_lr)
        self.show_default_lr()

    @Slot()
    def show_default_lr(self) -> None:
        """The learning rate's "by the model's size" box names the rate for the base model chosen."""
        hidden = self.base.hidden_size()
        box = self.settings.fields["lr"].none_box
        box.setText("use the rate for the model's size" + (f": {lr_for_size(hidden):g}" if hidden else ""))

    def spec(self) -> FinetuneSpec:
        task, train = self.data.task_name(), self.data.train.path()
        if not train:
            raise ValueError("choose a training file first")
        return FinetuneSpec(train=train, validation=self.data.validation.path(), test=self.data.test.path(),
                            config=self.settings.config(task=task), name=self.settings.name.text().strip() or None,
                            **self.data.columns(), **self.base.source())

    def training_file_name(self) -> str:
        return Path(self.data.train.path() or "").name
