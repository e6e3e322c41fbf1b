"""The Fine-tune panel's form: task and data files (with a column mapping and preview for tables), the base
model (a pretraining checkpoint, or a preset from scratch) and the settings, each with a tooltip.
`FinetuneForm.spec()` reads a `FinetuneSpec` from it; the bundled demo sets are the default files.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
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
from workbench.core.finetune.trainer import FinetuneConfig
from workbench.core.model_config import PRESETS
from workbench.gui.panels.train_settings import ScientificSpinBox, _float_spin, _spin
from workbench.jobs.finetune import FinetuneSpec
from workbench.samples.tasks import demo_paths
from workbench.store.runstore import RunStore
from workbench.views.finetune_view import TASK_TITLES, base_models, guess_columns

NONE = "(none)"
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
    """Task, training and validation files, and for tables the text / pair / label columns with a preview."""

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
                              ("Validation file", self.validation), ("", self.demo),
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
        for widget in (self.train, self.validation):
            widget.filters = FILE_FILTERS[task]
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
        path = self.train.path()
        if self.task_name() != "classify" or not path:
            return
        try:
            columns, rows = preview_table(path, limit=6)
        except (OSError, DataError) as error:
            self.message.setText(f"Cannot read the training file: {error}")
            self.preview.setRowCount(0)
            return
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
        form = QFormLayout(self)
        form.addRow(self.pretrained, self.checkpoint)
        form.addRow(self.scratch, self.preset)

    def refresh(self, store: RunStore) -> None:
        current = self.checkpoint.currentData()
        self.checkpoint.clear()
        for model in base_models(store):
            self.checkpoint.addItem(model.label, model.reference)
        if current is not None and self.checkpoint.findData(current) >= 0:
            self.checkpoint.setCurrentIndex(self.checkpoint.findData(current))
        has_runs = self.checkpoint.count() > 0
        self.pretrained.setEnabled(has_runs)
        if not has_runs:
            self.checkpoint.addItem("no pretraining run yet: train one on the Train panel")
        (self.pretrained if has_runs and not self.scratch.isChecked() else self.scratch).setChecked(True)
        self._toggled()

    @Slot()
    def _toggled(self) -> None:
        self.checkpoint.setEnabled(self.pretrained.isChecked())
        self.preset.setEnabled(self.scratch.isChecked())

    def source(self) -> dict[str, str | None]:
        if self.pretrained.isChecked() and self.checkpoint.currentData():
            return {"from_run": self.checkpoint.currentData()}
        return {"scratch": self.preset.currentText()}


class SettingsGroup(QGroupBox):
    """Learning rates, epochs, batch, warm-up, weight decay, length, freezing, seed, early stopping, device."""

    def __init__(self) -> None:
        super().__init__("Settings")
        d = FinetuneConfig()
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (run-N)")
        self.lr, self.head_lr = ScientificSpinBox(1e-7, 1.0, d.lr), ScientificSpinBox(1e-7, 1.0, d.lr)
        self.same_head_lr = QCheckBox("same as the model")
        self.same_head_lr.setChecked(True)
        self.same_head_lr.toggled.connect(self._same_head_lr)
        self.lr.valueChanged.connect(self._same_head_lr)
        self.head_lr.setEnabled(False)
        self.epochs, self.batch_size = _spin(1, 1000, d.epochs), _spin(1, 4096, d.batch_size)
        self.warmup = _float_spin(0.0, 0.9, d.warmup_ratio, 0.05, 2)
        self.weight_decay = _float_spin(0.0, 1.0, d.weight_decay, 0.01, 4)
        self.max_len = _spin(8, 4096, d.max_len)
        self.freeze_embeddings = QCheckBox("freeze the embeddings")
        self.freeze_layers = _spin(0, 48, 0, special="none")
        self.seed = _spin(0, 2**31 - 1, d.seed)
        self.early_stopping = _spin(0, 100, 0, special="off")
        self.device = QComboBox()
        self.device.addItems(available_devices())
        head = QHBoxLayout()
        head.addWidget(self.head_lr, 1)
        head.addWidget(self.same_head_lr)
        self._set_tooltips()
        form = QFormLayout(self)
        for label, widget in (("Name", self.name), ("Learning rate", self.lr), ("Head learning rate", head),
                              ("Epochs", self.epochs), ("Batch size", self.batch_size), ("Warm-up share", self.warmup),
                              ("Weight decay", self.weight_decay), ("Max length", self.max_len),
                              ("", self.freeze_embeddings), ("Freeze lowest layers", self.freeze_layers),
                              ("Seed", self.seed), ("Early stopping", self.early_stopping), ("Device", self.device)):
            form.addRow(label, widget)

    def _set_tooltips(self) -> None:
        tips = {
            self.name: "A name to find this run again later; left empty, it is called run-N.",
            self.lr: "How big each update of the pretrained weights is. Fine-tuning uses small values "
                     "(2e-5 to 5e-5 for BERT-sized models; tiny models like 1e-4 to 1e-3). Default 3e-5.",
            self.head_lr: "How big each update of the new output layer is; it starts from random weights, so a "
                          "larger value can help.",
            self.same_head_lr: "Use the model's learning rate for the new output layer too.",
            self.epochs: "How many times the model reads the whole training file. Default 3.",
            self.batch_size: "How many examples the model reads at once in each step. Default 16.",
            self.warmup: "Share of all steps over which the learning rate climbs from 0 to its peak. Default 0.1.",
            self.weight_decay: "Pulls weights gently towards zero to avoid overfitting. Default 0.01.",
            self.max_len: "Longest input in tokens; longer texts are cut (at most what the model was pretrained "
                          "with). Default 128.",
            self.freeze_embeddings: "Keep the word embeddings as pretraining left them (train the rest).",
            self.freeze_layers: "Keep the lowest N encoder layers as pretraining left them.",
            self.seed: "Starting point of all randomness (new head, data order, dropout): the same seed gives the "
                       "same run. Default 0.",
            self.early_stopping: "Stop after this many epochs without a better validation score; off trains all "
                                 "epochs.",
            self.device: "Where the model trains: a GPU when this computer has one, else the CPU.",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)

    @Slot()
    def _same_head_lr(self) -> None:
        same = self.same_head_lr.isChecked()
        self.head_lr.setEnabled(not same)
        if same:
            self.head_lr.setValue(self.lr.value())

    def config(self, task: str) -> FinetuneConfig:
        return FinetuneConfig(
            task=task, lr=self.lr.value(), head_lr=None if self.same_head_lr.isChecked() else self.head_lr.value(),
            epochs=self.epochs.value(), batch_size=self.batch_size.value(), warmup_ratio=self.warmup.value(),
            weight_decay=self.weight_decay.value(), max_len=self.max_len.value(),
            freeze_embeddings=self.freeze_embeddings.isChecked(), freeze_layers=self.freeze_layers.value(),
            seed=self.seed.value(), early_stopping=self.early_stopping.value(), device=self.device.currentText())


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

    def spec(self) -> FinetuneSpec:
        task, train = self.data.task_name(), self.data.train.path()
        if not train:
            raise ValueError("choose a training file first")
        return FinetuneSpec(task=task, train=train, validation=self.data.validation.path(),
                            config=self.settings.config(task), name=self.settings.name.text().strip() or None,
                            **self.data.columns(), **self.base.source())

    def training_file_name(self) -> str:
        return Path(self.data.train.path() or "").name
