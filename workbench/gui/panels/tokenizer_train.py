"""The Tokenizer panel's training box: type, vocabulary size, lower-casing and minimum frequency, and Train /
Cancel for a background task (`workbench.jobs.tokenizers.train_tokenizer_on`) on the current corpus.

Settings trained before on the same corpus reuse that tokenizer instead of training again.
"""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QWidget,
)

from workbench.gui.notify import notify_window
from workbench.gui.panels.tokenizer_live import TYPE_TIPS
from workbench.gui.settings_form import editor, label_error, tooltip
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import train_tokenizer_on
from workbench.jobs.workspace import in_workspace
from workbench.settings.base import SettingError
from workbench.settings.tokenizer import TokenizerConfig, min_vocab_size
from workbench.store.records import TokenizerRecord

ERROR_STYLE = "color: #b00020;"


class TrainTokenizerBox(QGroupBox):
    """The settings of a new tokenizer and its training; a trained one becomes the current corpus' choice."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Train a tokenizer", parent)
        self.state, self.runner = state, runner
        self.task: Task | None = None
        self.type_combo, self.vocab_size, self.lowercase, self.min_frequency = (
            editor(TokenizerConfig.spec(name)) for name in ("type", "vocab_size", "lowercase", "min_frequency"))
        self.type_combo.currentTextChanged.connect(self._on_type_changed)
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a tokenizer with these settings on the current corpus, in the background.")
        self.train_button.clicked.connect(self.start_training)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the tokenizer training; nothing is saved.")
        self.cancel_button.clicked.connect(self.cancel_training)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        self.message = QLabel()
        self.message.setWordWrap(True)
        form = QFormLayout(self)
        for name, widget in (("type", self.type_combo), ("vocab_size", self.vocab_size),
                             ("lowercase", self.lowercase), ("min_frequency", self.min_frequency)):
            form.addRow(TokenizerConfig.spec(name).meta.label, widget)
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        form.addRow(buttons)
        form.addRow(self.message)

    @Slot(str)
    def _on_type_changed(self, tokenizer_type: str) -> None:
        self.vocab_size.setMinimum(min_vocab_size(tokenizer_type))
        self.min_frequency.setEnabled(tokenizer_type != "unigram")
        self.type_combo.setToolTip(f"{tooltip(TokenizerConfig.spec('type'))} Now: {TYPE_TIPS[tokenizer_type]}.")

    def config(self) -> TokenizerConfig:
        return TokenizerConfig(type=self.type_combo.currentText(), vocab_size=self.vocab_size.value(),
                               lowercase=self.lowercase.isChecked(), min_frequency=self.min_frequency.value())

    @Slot()
    def start_training(self) -> None:
        if self.task is not None:
            return
        try:
            config = self.config()
        except SettingError as error:
            self._say(label_error(TokenizerConfig, error), error=True)
            return
        corpus_name, home = self.state.corpus_name, self.state.home

        def work(task: Task) -> tuple[TokenizerRecord, bool, str | None]:
            def progress(done: int, total: int) -> None:
                if task.cancelled:
                    raise UserError("tokenizer training cancelled")
                task.report("documents read", done, total)

            record, reused = in_workspace(home, train_tokenizer_on, corpus_name, config, progress)
            return record, reused, corpus_name

        self.task = Task("train tokenizer", work, ask_before_closing=True)
        self.task.progress.connect(self._on_train_progress)
        self.task.succeeded.connect(self._on_trained)
        self.task.failed.connect(self._on_train_failed)
        self.task.done.connect(self._on_train_done)
        self.train_button.setEnabled(False)
        self.cancel_button.show()
        self.progress.setRange(0, 0)
        self.progress.show()
        self._say("Reading the corpus…")
        self.runner.start(self.task)

    @Slot()
    def cancel_training(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self._say("Cancelling: training stops at its next progress report.")

    @Slot(str, int, object)
    def _on_train_progress(self, stage: str, done: int, total: int | None) -> None:
        if total and done < total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            self.progress.setFormat(f"{done:,} of {total:,} documents read")
        else:  # every document read: the trainer now merges pieces, with no progress to report
            self.progress.setRange(0, 0)
            self._say(f"Read {done:,} documents; building the vocabulary…")

    @Slot(object)
    def _on_trained(self, result: tuple[TokenizerRecord, bool, str | None]) -> None:
        record, reused, corpus_name = result
        if reused:
            self._say(f"These settings were trained before: tokenizer {record.id} ({record.vocab_size:,} tokens).")
        else:
            self._say(f"Trained tokenizer {record.id}: {record.type}, {record.vocab_size:,} tokens.")
        self.state.tokenizers_changed.emit()
        if corpus_name == self.state.corpus_name:
            self.state.set_tokenizer(record.id)

    @Slot(str, str)
    def _on_train_failed(self, message: str, details: str) -> None:
        if self.task is not None and self.task.cancelled:
            self._say("Training cancelled; nothing was saved.")
            return
        self._say(f"Training failed: {message}", error=True)
        notify_window(self, f"Tokenizer training failed: {message}", details)

    @Slot()
    def _on_train_done(self) -> None:
        self.task = None
        self.train_button.setEnabled(True)
        self.cancel_button.hide()
        self.progress.hide()

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else "")
        self.message.setText(text)
