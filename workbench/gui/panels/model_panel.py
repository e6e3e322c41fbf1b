"""The Model panel: a preset and its fields, what the model costs, and what is wrong with it, at the field.

Choosing a preset fills the fields; editing one afterwards overrides the preset for that field only (the
ModelChoice sent to `AppState.set_model` carries just the overrides, as the CLI's --layers/--hidden/...). The
config is built by the same `model_config_for` that training uses, so a value it refuses is marked where it
was typed, with the reason, and the choice goes out with valid=False (the Train panel keeps Start disabled).
Beside it: the exact parameter count for the current tokenizer's vocabulary and a training-memory estimate
for a batch size and precision of the user's choice.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.model_config import (
    MIN_POSITIONS,
    PRECISIONS,
    PRESETS,
    BertConfig,
    ConfigError,
    count_parameters,
    estimate_training_memory,
    preset_config,
)
from workbench.core.training_types import TrainConfig
from workbench.gui.state import AppState, ModelChoice
from workbench.gui.workers import TaskRunner
from workbench.jobs.pretrain import ARCHITECTURE_FLAGS, PretrainSpec, model_config_for
from workbench.views.choices import current_tokenizer

DEFAULT_VOCAB = 8000
# the border goes on a frame around the spin box: styling the spin box itself spoils its arrows
INVALID_STYLE = "QFrame#field { border: 2px solid #d62728; border-radius: 3px; }"
VALID_STYLE = "QFrame#field { border: 2px solid transparent; }"
# field -> (label, maximum, step, tooltip); the BertConfig field each edits is in ARCHITECTURE_FLAGS
FIELDS = {
    "layers": ("Layers", 96, 1, "How many transformer blocks are stacked; more layers, a deeper model."),
    "hidden": ("Hidden size", 8192, 32, "The width of every token's vector inside the model."),
    "heads": ("Attention heads", 128, 1, "How many attention heads each layer has; it must divide the hidden size."),
    "ffn": ("Feed-forward size", 32768, 128, "The width of each block's inner layer, usually 4 x the hidden size."),
    "max_len": ("Max length", 8192, 8, "The longest sequence, in tokens, the model reads at once (at least 8)."),
}
FIELD_OF = {name: flag for flag, name in ARCHITECTURE_FLAGS.items()} | {"max_position_embeddings": "max_len"}
MEMORY_PARTS = (("weights", "weights"), ("gradients", "gradients"), ("optimizer_state", "optimizer (AdamW)"),
                ("activations", "activations"), ("runtime", "runtime and allocator"), ("total", "total"))


ESTIMATE_DEVICES = {"CPU": "cpu", "CUDA GPU": "cuda"}  # label -> estimate_training_memory's device


def format_bytes(n: int) -> str:
    return f"{n / 1e9:,.2f} GB" if n >= 1e9 else f"{n / 1e6:,.1f} MB"


class ModelPanel(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.config: BertConfig | None = None  # None while a field is invalid
        self.error: ConfigError | None = None
        self.vocab_size = DEFAULT_VOCAB
        layout = QHBoxLayout(self)
        layout.addWidget(self._build_architecture(), 1)
        layout.addWidget(self._build_costs(), 1)
        self._load_choice(state.model)
        self._refresh_vocab()
        state.model_changed.connect(self._on_state_model)
        state.masking_changed.connect(self._update_costs)
        for signal in (state.corpus_changed, state.tokenizer_changed, state.tokenizers_changed):
            signal.connect(self._refresh_vocab)
        if self.choice() != state.model:  # e.g. an invalid choice restored with valid=True
            state.set_model(self.choice())

    # ---- building -----------------------------------------------------------------------------------------

    def _build_architecture(self) -> QGroupBox:
        box = QGroupBox("Architecture")
        form = QFormLayout(box, labelAlignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems(list(PRESETS))
        self.preset_combo.setToolTip("A named model size; choosing one fills the fields below, and editing a "
                                     "field afterwards overrides the preset.")
        self.preset_combo.currentTextChanged.connect(self._on_preset)
        form.addRow("Preset", self.preset_combo)
        self.spins: dict[str, QSpinBox] = {}
        self.frames: dict[str, QFrame] = {}
        self.hints: dict[str, QLabel] = {}
        for name, (label, maximum, step, tip) in FIELDS.items():
            spin = QSpinBox(minimum=1, maximum=maximum, singleStep=step)
            spin.setToolTip(tip)
            spin.valueChanged.connect(self._on_field_changed)
            frame = QFrame(objectName="field", styleSheet=VALID_STYLE)
            QHBoxLayout(frame).setContentsMargins(2, 2, 2, 2)
            frame.layout().addWidget(spin)
            hint = QLabel()
            hint.setWordWrap(True)
            row = QWidget()
            QHBoxLayout(row).setContentsMargins(0, 0, 0, 0)
            row.layout().addWidget(frame)
            row.layout().addWidget(hint, 1)
            form.addRow(label, row)
            self.spins[name], self.frames[name], self.hints[name] = spin, frame, hint
        self.pre_ln_check = QCheckBox("LayerNorm before each block (pre-LN)")
        self.pre_ln_check.setToolTip("Pre-LN often trains more steadily from scratch; off is the original BERT "
                                     "layout (post-LN).")
        self.pre_ln_check.toggled.connect(self._on_field_changed)
        form.addRow("Normalisation", self.pre_ln_check)
        dropout = QLabel(f"{BertConfig.hidden_dropout_prob} (fixed, as in BERT)")
        dropout.setToolTip("While training, this share of values is zeroed at random to make the model generalise.")
        form.addRow("Dropout", dropout)
        self.preset_note = QLabel()
        self.preset_note.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d62728")
        form.addRow(self.preset_note)
        form.addRow(self.error_label)
        self.presets_label = QLabel()
        self.presets_label.setToolTip("Every preset at the current vocabulary and max length.")
        form.addRow(self.presets_label)
        return box

    def _build_costs(self) -> QGroupBox:
        box = QGroupBox("Size and memory")
        layout = QVBoxLayout(box)
        self.params_label = QLabel()
        font = self.params_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        self.params_label.setFont(font)
        self.params_label.setToolTip("How many numbers the model learns (the output layer shares the "
                                     "token embeddings, so they count once).")
        self.vocab_label = QLabel()
        self.vocab_label.setWordWrap(True)
        layout.addWidget(self.params_label)
        layout.addWidget(self.vocab_label)
        settings = QFormLayout(fieldGrowthPolicy=QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        self.batch_spin = QSpinBox(minimum=1, maximum=65536, value=TrainConfig().batch_size)
        self.batch_spin.setToolTip("Sequences per training step, for this estimate only (the Train panel sets "
                                   "the real one).")
        self.precision_combo = QComboBox()
        self.precision_combo.addItems(list(PRECISIONS))
        self.precision_combo.setToolTip("fp32: full precision; bf16/fp16: half-size activations (fp16 needs a "
                                        "CUDA GPU).")
        self.device_combo = QComboBox()
        for label, device in ESTIMATE_DEVICES.items():
            self.device_combo.addItem(label, device)
        self.device_combo.setToolTip("Where the step's tensors live: the CPU process's memory (with its runtime "
                                     "and allocator), or a GPU's device memory (tensors only).")
        settings.addRow("Batch size", self.batch_spin)
        settings.addRow("Precision", self.precision_combo)
        settings.addRow("Memory on", self.device_combo)
        layout.addLayout(settings)
        self.batch_spin.valueChanged.connect(self._update_costs)
        self.precision_combo.currentTextChanged.connect(self._update_costs)
        self.device_combo.currentIndexChanged.connect(self._update_costs)
        grid = QGridLayout()
        self.memory_labels: dict[str, QLabel] = {}
        for row, (key, title) in enumerate(MEMORY_PARTS):
            value = QLabel("-")
            value.setAlignment(Qt.AlignmentFlag.AlignRight)
            if key == "total":
                title, value_font = f"<b>{title}</b>", value.font()
                value_font.setBold(True)
                value.setFont(value_font)
            grid.addWidget(QLabel(title), row, 0)
            grid.addWidget(value, row, 1)
            self.memory_labels[key] = value
        grid.setColumnStretch(2, 1)
        layout.addLayout(grid)
        self.memory_note = QLabel()
        self.memory_note.setWordWrap(True)
        layout.addWidget(self.memory_note)
        layout.addStretch(1)
        return box

    # ---- choice <-> widgets -------------------------------------------------------------------------------

    def _preset_values(self, preset: str) -> dict[str, int]:
        return {flag: PRESETS[preset][name] for flag, name in ARCHITECTURE_FLAGS.items()}

    def _load_choice(self, choice: ModelChoice) -> None:
        widgets = [self.preset_combo, self.pre_ln_check, *self.spins.values()]
        for widget in widgets:
            widget.blockSignals(True)
        preset = choice.preset if choice.preset in PRESETS else "tiny"
        self.preset_combo.setCurrentText(preset)
        for flag, value in {**self._preset_values(preset), **choice.architecture}.items():
            if flag in ARCHITECTURE_FLAGS:
                self.spins[flag].setValue(value)
        self.spins["max_len"].setValue(choice.max_len)
        self.pre_ln_check.setChecked(choice.pre_layer_norm)
        for widget in widgets:
            widget.blockSignals(False)
        self._validate()

    def choice(self) -> ModelChoice:
        """What the widgets show, with only the fields that differ from the preset as overrides."""
        preset = self.preset_combo.currentText()
        overrides = {flag: self.spins[flag].value() for flag, value in self._preset_values(preset).items()
                     if self.spins[flag].value() != value}
        return ModelChoice(preset=preset, architecture=overrides, max_len=self.spins["max_len"].value(),
                           pre_layer_norm=self.pre_ln_check.isChecked(), valid=self.config is not None)

    @Slot(str)
    def _on_preset(self, preset: str) -> None:
        for flag, value in self._preset_values(preset).items():
            self.spins[flag].blockSignals(True)
            self.spins[flag].setValue(value)
            self.spins[flag].blockSignals(False)
        self._on_field_changed()

    @Slot()
    def _on_field_changed(self, *args: object) -> None:
        self._validate()
        self.state.set_model(self.choice())

    @Slot(object)
    def _on_state_model(self, choice: ModelChoice) -> None:
        if choice != self.choice():
            self._load_choice(choice)
            if choice.valid != (self.config is not None):  # the sender's idea of validity was not ours
                self.state.set_model(self.choice())

    # ---- validation and costs -----------------------------------------------------------------------------

    def _validate(self) -> None:
        choice = self.choice()
        spec = PretrainSpec(preset=choice.preset, architecture=choice.architecture, max_len=choice.max_len,
                            pre_layer_norm=choice.pre_layer_norm)
        try:
            self.config, self.error = model_config_for(spec, self.vocab_size), None
        except ConfigError as error:
            self.config, self.error = None, error
        self._show_marks(choice)
        self._update_costs()

    def _show_marks(self, choice: ModelChoice) -> None:
        bad = FIELD_OF.get(self.error.field) if self.error is not None else None
        preset = self._preset_values(choice.preset)
        for flag, spin in self.spins.items():
            hint = self.hints[flag]
            if flag == bad:
                self.frames[flag].setStyleSheet(INVALID_STYLE)
                spin.setToolTip(self.error.message)
                hint.setText(f"<span style='color:#d62728'>{self.error.message}</span>")
                continue
            self.frames[flag].setStyleSheet(VALID_STYLE)
            spin.setToolTip(FIELDS[flag][3])
            overridden = flag in choice.architecture
            hint.setText(f"<span style='color:#777777'>preset: {preset[flag]}</span>" if overridden else "")
        names = ", ".join(FIELDS[flag][0].lower() for flag in choice.architecture)
        self.preset_note.setText(f"Preset '{choice.preset}'" + (f", overridden: {names}." if names else "."))
        unplaced = self.error is not None and bad is None
        self.error_label.setText(f"{self.error}" if unplaced else "")

    @Slot()
    def _refresh_vocab(self, *args: object) -> None:
        record = current_tokenizer(self.state.store, self.state.corpus_name, self.state.tokenizer_id)
        self.vocab_size = record.vocab_size if record is not None else DEFAULT_VOCAB
        if record is not None:
            self.vocab_label.setText(f"vocabulary {record.vocab_size:,} tokens, from tokenizer {record.id} "
                                     f"({record.type})")
        else:
            self.vocab_label.setText(f"vocabulary {DEFAULT_VOCAB:,} tokens assumed: no tokenizer is trained for "
                                     "this corpus yet")
        self._validate()

    def _show_presets(self) -> None:
        max_len = max(self.spins["max_len"].value(), MIN_POSITIONS)
        rows = [f"<tr><td>{name}</td>" + "".join(f"<td align='right'>{values[field]}</td>" for field in
                ARCHITECTURE_FLAGS.values()) + f"<td align='right'>"
                f"{count_parameters(preset_config(name, self.vocab_size, max_len)):,}</td></tr>"
                for name, values in PRESETS.items()]
        header = "".join(f"<th align='right'>{h}</th>" for h in ("layers", "hidden", "heads", "ffn", "parameters"))
        self.presets_label.setText(f"<p>Presets at vocabulary {self.vocab_size:,}, max length {max_len}:</p>"
                                   f"<table cellspacing='0' cellpadding='3'><tr><th align='left'>preset</th>"
                                   f"{header}</tr>{''.join(rows)}</table>")

    @Slot()
    def _update_costs(self, *args: object) -> None:
        self._show_presets()
        if self.config is None:
            self.params_label.setText("- parameters")
            for label in self.memory_labels.values():
                label.setText("-")
            self.memory_note.setText("Fix the marked field to see the size and the memory estimate.")
            return
        self.params_label.setText(f"{count_parameters(self.config):,} parameters")
        precision, batch = self.precision_combo.currentText(), self.batch_spin.value()
        device = self.device_combo.currentData()
        seq_len = self.config.max_position_embeddings
        estimate = estimate_training_memory(self.config, batch, seq_len, precision,
                                            self.state.masking.mlm_probability, device)
        for key, label in self.memory_labels.items():
            label.setText(format_bytes(getattr(estimate, key)))
        where = ("Runtime is the CPU process's memory beyond its tensors." if device == "cpu" else
                 "Device memory, tensors only: the CUDA context and the caching allocator's reserve come on top.")
        self.memory_note.setText(f"Estimated peak memory of one training step with AdamW on "
                                 f"{self.device_combo.currentText()}: {batch} sequences of {seq_len} tokens in "
                                 f"{precision}, {self.state.masking.mlm_probability:.0%} of them masked. A planning "
                                 f"figure, not a measurement. {where}")


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(ModelPanel)
