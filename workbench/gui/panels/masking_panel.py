"""The Masking panel: how tokens are hidden from the model, seen on one sentence and measured on many.

Left, the settings (rate, the mask/random/keep split that always sums to 100, strategy, span shape,
static or dynamic); every change goes to `AppState.set_masking`. Right, the proportions measured by masking
about 200k tokens of the current corpus in the background (debounced; a stale measurement is cancelled and
its result ignored). Below, a sentence as the model sees it, re-drawn on every change and by Re-roll. The
tokenizer is the current one, else the sample corpus' default (trained on first use).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.mask_preview import MaskPreview, preview_masking
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.gui.advanced import mark_expert
from workbench.gui.notify import notify_window
from workbench.gui.panels.masking_form import MaskingForm
from workbench.gui.panels.masking_preview import PreviewBox
from workbench.gui.plain_words import plain_label
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import in_workspace
from workbench.settings.masking import MaskingConfig, span_length_mean
from workbench.views.choices import find_preview_tokenizer
from workbench.views.masking_stats import MaskingSource, MaskingStats, TokenSample, measure_masking, prepare_source

MEASURE_DELAY_MS = 250


def _prepare_source(home: Path, corpus_name: str | None, tokenizer_id: int | None, task: Task) -> MaskingSource:
    return in_workspace(home, prepare_source, corpus_name, tokenizer_id,
                        report=lambda stage: task.report(stage, 0, None), cancelled=lambda: task.cancelled)


def _measure(sample: TokenSample, tokenizer: WorkbenchTokenizer, config: MaskingConfig, max_len: int,
             task: Task) -> MaskingStats | None:
    return measure_masking(sample, tokenizer, config, max_len, cancelled=lambda: task.cancelled)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


class MaskingPanel(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.source: MaskingSource | None = None
        self.preview: MaskPreview | None = None
        self.stats: MaskingStats | None = None  # the latest measurement shown
        self.seq_id = 0
        self._source_key: tuple | None = None
        self._prepare_task: Task | None = None
        self._measure_task: Task | None = None
        self._measure_timer = QTimer(self, singleShot=True, interval=MEASURE_DELAY_MS)
        self._measure_timer.timeout.connect(self._start_measure)
        self._measure_pending = False
        self.form = MaskingForm()
        self.form.changed.connect(self._on_settings_changed)
        self.preview_box = PreviewBox()
        self.preview_box.sentence_edit.textChanged.connect(self._redraw_preview)
        self.preview_box.reroll_button.clicked.connect(self._reroll)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.form, 3)
        measured = self._build_measured()
        mark_expert(measured)  # classroom mode: the settings and the sentence, not the check on 200k tokens
        top.addWidget(measured, 2)
        layout.addLayout(top)
        layout.addWidget(self.preview_box, 1)
        self._load_config(state.masking)
        state.masking_changed.connect(self._on_state_masking)
        state.model_changed.connect(self._on_model_changed)
        for signal in (state.corpus_changed, state.tokenizer_changed, state.tokenizers_changed):
            signal.connect(self._refresh_source)
        self._refresh_source()

    # ---- building -----------------------------------------------------------------------------------------

    def _build_measured(self) -> QGroupBox:
        box = QGroupBox("Measured on the corpus")
        box.setToolTip("The settings applied to a large sample of the current corpus, exactly as in training.")
        grid = QGridLayout(box)
        for column, title in enumerate(("", "set", "measured"), start=0):
            grid.addWidget(QLabel(f"<b>{title}</b>"), 0, column)
        names = (("selected tokens", "mask_rate"), ("[MASK]", "mask"), ("random", "random"), ("kept", "kept"),
                 ("mean span (words)", ""))
        self.set_labels, self.measured_labels, self.row_names = [], [], []
        for row, (name, term) in enumerate(names, start=1):
            labels = (plain_label(QLabel(name), term) if term else QLabel(name), QLabel("-"), QLabel("-"))
            for column, label in enumerate(labels):
                grid.addWidget(label, row, column)
            self.row_names.append(labels[0])
            self.set_labels.append(labels[1])
            self.measured_labels.append(labels[2])
        self.measure_status = QLabel("waiting for a tokenizer...")
        self.measure_status.setWordWrap(True)
        grid.addWidget(self.measure_status, len(names) + 1, 0, 1, 3)
        grid.setRowStretch(len(names) + 2, 1)
        return box

    # ---- settings <-> state -------------------------------------------------------------------------------

    def _load_config(self, config: MaskingConfig) -> None:
        self.form.load(config)
        self._show_set_values()

    def config(self) -> MaskingConfig:
        """The configuration the form shows (the seed is the state's)."""
        return self.form.config(seed=self.state.masking.seed)

    def _show_set_values(self) -> None:
        config = self.config()
        values = (config.mlm_probability, config.mask_replace_prob, config.random_replace_prob, config.keep_prob)
        for label, value in zip(self.set_labels, values):
            label.setText(_percent(value))
        self.set_labels[4].setText(f"{span_length_mean(config.span_geometric_p, config.span_max_length):.2f}")
        for labels in (self.row_names, self.set_labels, self.measured_labels):
            labels[4].setVisible(config.strategy == "span")

    @Slot()
    def _on_settings_changed(self, *args: object) -> None:
        self._show_set_values()
        self.state.set_masking(self.config())
        self.seq_id += 1
        self._redraw_preview()
        self._schedule_measure()

    @Slot(object)
    def _on_state_masking(self, config: MaskingConfig) -> None:
        if config != self.config():
            self._load_config(config)
            self._redraw_preview()
            self._schedule_measure()

    @Slot(object)
    def _on_model_changed(self, choice: object) -> None:
        if self.stats is not None and self._max_len() != self.stats.max_len:
            self._schedule_measure()

    def _max_len(self) -> int:
        return self.state.model.max_position_embeddings

    # ---- tokenizer and sample -----------------------------------------------------------------------------

    @Slot()
    def _refresh_source(self, *args: object) -> None:
        """Prepare the tokenizer and the corpus sample again when the current choice points elsewhere."""
        found = find_preview_tokenizer(self.state.store, self.state.corpus_name, self.state.tokenizer_id)
        key = (self.state.corpus_name, found.id if found is not None else None)
        if key == self._source_key:
            return
        self._source_key = key
        for task in (self._prepare_task, self._measure_task):
            if task is not None:
                task.cancel()
        self._measure_task = None  # a measurement of the old sample is no longer wanted
        self.preview_box.status.setText("preparing a tokenizer..." if found is None else "loading the tokenizer...")
        self.measure_status.setText("encoding a sample of the corpus...")
        fn = partial(_prepare_source, self.state.home, self.state.corpus_name, self.state.tokenizer_id)
        task = Task("masking preview: tokenizer and sample", fn)
        task.progress.connect(self._on_prepare_progress)
        task.succeeded.connect(self._on_source_ready)
        task.failed.connect(self._on_prepare_failed)
        self._prepare_task = self.runner.start(task)

    @Slot(str, int, object)
    def _on_prepare_progress(self, stage: str, done: int, total: object) -> None:
        if self.sender() is self._prepare_task:
            self.preview_box.status.setText(f"{stage}...")

    @Slot(object)
    def _on_source_ready(self, source: MaskingSource) -> None:
        if self.sender() is not self._prepare_task:
            return  # a newer choice replaced this one
        self._prepare_task = None
        self.source = source
        self._source_key = (self._source_key[0], source.record.id)
        if source.trained:
            self.state.tokenizers_changed.emit()
        self._redraw_preview()
        if source.sample is None:
            self.measure_status.setText(f"cannot read the corpus: {source.sample_error}")
        else:
            self._start_measure()

    @Slot(str, str)
    def _on_prepare_failed(self, message: str, details: str) -> None:
        if self.sender() is not self._prepare_task:
            return
        self._prepare_task = None
        self._source_key = None  # try again on the next change
        self.preview_box.status.setText(f"no tokenizer for the preview: {message}")
        self.measure_status.setText("nothing to measure without a tokenizer")
        notify_window(self, f"Masking preview: {message}", details)

    # ---- preview ------------------------------------------------------------------------------------------

    @Slot()
    def _reroll(self) -> None:
        self.seq_id += 1
        self._redraw_preview()

    @Slot()
    def _redraw_preview(self, *args: object) -> None:
        if self.source is None:
            return
        self.preview = preview_masking(self.source.tokenizer, self.preview_box.text(), self.config(),
                                       seq_id=self.seq_id)
        record = self.source.record
        self.preview_box.show_preview(self.preview, f"draw #{self.seq_id}; tokenizer {record.id} ({record.type}, "
                                                    f"{record.vocab_size:,} tokens)")

    # ---- measurement --------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._measure_pending:
            self._measure_pending = False
            self._schedule_measure()

    def _schedule_measure(self) -> None:
        self._measure_timer.start()  # restarts: only the last of a burst of changes is measured

    @Slot()
    def _start_measure(self) -> None:
        if self.source is None or self.source.sample is None or self._prepare_task is not None:
            return  # _on_source_ready measures the new sample
        if not self.isVisible():  # measured when shown again; and nothing starts once the window has closed
            self._measure_pending = True
            return
        if self._measure_task is not None:
            self._measure_task.cancel()
        fn = partial(_measure, self.source.sample, self.source.tokenizer, self.config(), self._max_len())
        task = Task("masking: measuring", fn)
        task.succeeded.connect(self._on_measured)
        task.failed.connect(self._on_measure_failed)
        self.measure_status.setText(f"measuring on {self.source.sample.n_tokens:,} tokens...")
        self._measure_task = self.runner.start(task)

    @Slot(object)
    def _on_measured(self, stats: MaskingStats | None) -> None:
        if self.sender() is not self._measure_task or stats is None:
            return  # stale or cancelled: a newer measurement is on its way
        self._measure_task = None
        self.stats = stats
        values = (stats.selection_rate, *stats.shares())
        for label, value in zip(self.measured_labels, values):
            label.setText(_percent(value))
        mean = stats.mean_run_words
        self.measured_labels[4].setText(f"{mean:.2f}" if mean is not None else "-")
        self.measured_labels[4].setToolTip("Touching spans count as one; the last span of a sequence is cut "
                                           "where the sequence's budget of masked tokens runs out.")
        self.measure_status.setText(f"{stats.tokens:,} tokens of corpus '{self.source.corpus_name}' in "
                                    f"{stats.blocks:,} blocks of {stats.max_len} ({stats.selected:,} chosen)")

    @Slot(str, str)
    def _on_measure_failed(self, message: str, details: str) -> None:
        if self.sender() is not self._measure_task:
            return
        self._measure_task = None
        self.measure_status.setText(f"measuring failed: {message}")


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(MaskingPanel)
