"""The Model panel: a preset and its fields, what the model costs, and what is wrong with it, at the field.

Choosing a preset fills the fields; editing one afterwards overrides the preset for that field only (the
`ModelSpec` sent to `AppState.set_model` carries just the overrides, as the CLI's --layers/--hidden/...). The
fields' ranges, tooltips and labels are ModelSpec's metadata, and the spec itself checks them, so a value it
refuses is marked where it was typed, with the reason, and the state learns the model is invalid (the Train
panel keeps Start disabled). Beside it: the exact parameter count for the current tokenizer's vocabulary and a
training-memory estimate for a batch size and precision of the user's choice.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
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

from workbench.core.model_config import count_parameters, estimate_training_memory
from workbench.gui.settings_form import changed_signal, editor, editor_value, label_error, set_editor_value, tooltip
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.settings.base import SettingError
from workbench.settings.model import ARCHITECTURE, MIN_POSITIONS, PRESETS, BertConfig, ModelSpec, preset_config
from workbench.settings.train import TrainConfig
from workbench.views.choices import current_tokenizer

DEFAULT_VOCAB = 8000
# the border goes on a frame around the spin box: styling the spin box itself spoils its arrows
INVALID_STYLE = "QFrame#field { border: 2px solid #d62728; border-radius: 3px; }"
VALID_STYLE = "QFrame#field { border: 2px solid transparent; }"
FIELDS = (*ARCHITECTURE, "max_position_embeddings")  # the ModelSpec fields with a spin box
# the architecture options, a form row each: the settings shown side by side in it
OPTION_ROWS = (("Normalisation", ("first_attention_norm",)),  # after the pre-LN box
               ("Positions", ("position_embedding_type", "rope_theta", "local_rope_theta")),
               ("Feed-forward", ("feed_forward", "glu_size")),
               ("Attention", ("local_attention", "global_attn_every_n_layers")),
               ("Biases", ("bias", "type_vocab_size")),
               ("Dropout", ("dropout",)))
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
        self.error: SettingError | None = None
        self.vocab_size = DEFAULT_VOCAB
        layout = QHBoxLayout(self)
        layout.addWidget(self._build_architecture(), 1)
        layout.addWidget(self._build_costs(), 1)
        self._load_spec(state.model)
        self._refresh_vocab()
        state.model_changed.connect(self._on_state_model)
        state.masking_changed.connect(self._update_costs)
        for signal in (state.corpus_changed, state.tokenizer_changed, state.tokenizers_changed):
            signal.connect(self._refresh_vocab)

    # ---- building -----------------------------------------------------------------------------------------

    def _build_architecture(self) -> QGroupBox:
        box = QGroupBox("Architecture")
        form = QFormLayout(box, labelAlignment=Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.preset_combo = editor(ModelSpec.spec("preset"))
        self.preset_combo.currentTextChanged.connect(self._on_preset)
        form.addRow("Preset", self.preset_combo)
        self.spins: dict[str, QSpinBox] = {}
        self.frames: dict[str, QFrame] = {}
        self.hints: dict[str, QLabel] = {}
        for name in FIELDS:
            spin = editor(ModelSpec.spec(name))
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
            form.addRow(ModelSpec.spec(name).meta.label, row)
            self.spins[name], self.frames[name], self.hints[name] = spin, frame, hint
        self.pre_ln_check = editor(ModelSpec.spec("pre_layer_norm"))
        self.pre_ln_check.setText("LayerNorm before each block (pre-LN),")
        self.pre_ln_check.toggled.connect(self._on_field_changed)
        self.options: dict[str, QWidget] = {}
        for title, names in OPTION_ROWS:
            row = QWidget()
            QHBoxLayout(row).setContentsMargins(0, 0, 0, 0)
            if title == "Normalisation":
                row.layout().addWidget(self.pre_ln_check)
            for k, name in enumerate(names):
                widget = self.options[name] = editor(ModelSpec.spec(name))
                changed_signal(widget).connect(self._on_field_changed)
                if k:  # the first is named by the row
                    row.layout().addWidget(QLabel(ModelSpec.spec(name).meta.label))
                row.layout().addWidget(widget)
            row.layout().addStretch(1)
            form.addRow(title, row)
        self.options["bias"].setText("in linear layers and LayerNorms")
        self.options["first_attention_norm"].setText("also before layer 1's attention")
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
        self.batch_spin = editor(TrainConfig.spec("batch_size"))
        self.batch_spin.setToolTip("Sequences per training step, for this estimate only (the Train panel sets "
                                   "the real one).")
        self.precision_combo = editor(TrainConfig.spec("precision"))
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

    def _load_spec(self, spec: ModelSpec) -> None:
        widgets = [self.preset_combo, self.pre_ln_check, *self.spins.values(), *self.options.values()]
        for widget in widgets:
            widget.blockSignals(True)
        self.preset_combo.setCurrentText(spec.preset)
        for name, value in spec.architecture().items():
            self.spins[name].setValue(value)
        self.spins["max_position_embeddings"].setValue(spec.max_position_embeddings)
        self.pre_ln_check.setChecked(spec.pre_layer_norm)
        for name, widget in self.options.items():
            set_editor_value(widget, getattr(spec, name))
        for widget in widgets:
            widget.blockSignals(False)
        self._validate()

    def _values(self) -> dict[str, object]:
        """What the widgets show, the architecture fields that equal the preset's as None (not overridden)."""
        preset = self.preset_combo.currentText()
        values: dict[str, object] = {name: None if self.spins[name].value() == PRESETS[preset][name]
                                     else self.spins[name].value() for name in ARCHITECTURE}
        return {**values, "preset": preset, "max_position_embeddings": self.spins["max_position_embeddings"].value(),
                "pre_layer_norm": self.pre_ln_check.isChecked(),
                **{name: editor_value(widget) for name, widget in self.options.items()}}

    @Slot(str)
    def _on_preset(self, preset: str) -> None:
        for name, value in PRESETS[preset].items():
            self.spins[name].blockSignals(True)
            self.spins[name].setValue(value)
            self.spins[name].blockSignals(False)
        self._on_field_changed()

    @Slot()
    def _on_field_changed(self, *args: object) -> None:
        spec = self._validate()
        self.state.set_model(spec or self.state.model, None if spec else label_error(ModelSpec, self.error))

    @Slot(object)
    def _on_state_model(self, spec: ModelSpec) -> None:
        if self.error is None and spec != ModelSpec(**self._values()):
            self._load_spec(spec)

    # ---- validation and costs -----------------------------------------------------------------------------

    def _validate(self) -> ModelSpec | None:
        """The spec the widgets show, with its config at the current vocabulary; None (and the reason in
        `self.error`, marked at its field) when the spec refuses a value."""
        values = self._values()
        try:
            spec = ModelSpec(**values)
            self.config, self.error = spec.config(self.vocab_size), None
        except SettingError as error:
            spec, self.config, self.error = None, None, error
        self._show_marks(values)
        self._enable_options(values)
        self._update_costs()
        return spec

    def _enable_options(self, values: dict[str, object]) -> None:
        """Settings that mean something only with another one: RoPE's bases, the GLU's size, the global rhythm."""
        self.options["first_attention_norm"].setEnabled(bool(values["pre_layer_norm"]))
        rope = values["position_embedding_type"] == "rope"
        self.options["rope_theta"].setEnabled(rope)
        self.options["local_rope_theta"].setEnabled(rope and values["local_attention"] != 0)
        self.options["glu_size"].setEnabled(values["feed_forward"] != "mlp")
        self.options["global_attn_every_n_layers"].setEnabled(values["local_attention"] != 0)

    def _show_marks(self, values: dict[str, object]) -> None:
        bad = self.error.field if self.error is not None else None
        preset = PRESETS[str(values["preset"])]
        for name, spin in self.spins.items():
            hint = self.hints[name]
            if name == bad:
                self.frames[name].setStyleSheet(INVALID_STYLE)
                spin.setToolTip(self.error.message)
                hint.setText(f"<span style='color:#d62728'>{self.error.message}</span>")
                continue
            self.frames[name].setStyleSheet(VALID_STYLE)
            spin.setToolTip(tooltip(ModelSpec.spec(name)))
            overridden = name in preset and values[name] is not None
            hint.setText(f"<span style='color:#777777'>preset: {preset[name]}</span>" if overridden else "")
        names = ", ".join(ModelSpec.spec(name).meta.label.lower() for name in ARCHITECTURE if values[name] is not None)
        self.preset_note.setText(f"Preset '{values['preset']}'" + (f", overridden: {names}." if names else "."))
        unplaced = self.error is not None and bad not in self.spins
        self.error_label.setText(label_error(ModelSpec, self.error) if unplaced else "")

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
        max_len = max(self.spins["max_position_embeddings"].value(), MIN_POSITIONS)
        rows = [f"<tr><td>{name}</td>" + "".join(f"<td align='right'>{values[field]}</td>" for field in
                ARCHITECTURE) + f"<td align='right'>"
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
