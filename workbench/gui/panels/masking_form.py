"""The Masking panel's settings: rate, the [MASK] / random / keep split that always sums to 100, strategy, span
shape, static or dynamic, a rate schedule over training and the evaluation rate. Ranges and tooltips come from
`MaskingConfig`'s metadata; `changed` fires on every edit, `config()` reads the settings, `load()` shows one."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QRadioButton,
    QSlider,
    QSpinBox,
)

from workbench.gui.advanced import mark_advanced
from workbench.gui.plain_words import plain_label
from workbench.gui.settings_form import SettingField, editor, label_error, tooltip
from workbench.settings.base import SettingError
from workbench.settings.masking import MaskingConfig
from workbench.views.lesson import MASKING_WHY
from workbench.views.masking_stats import rebalance_split

SPLIT_NAMES = ("[MASK]", "random", "keep")


class MaskingForm(QGroupBox):
    changed = Signal()

    def __init__(self) -> None:
        super().__init__("Masking settings")
        form = QFormLayout(self)
        rate = MaskingConfig.spec("mlm_probability")
        self.rate_slider = QSlider(Qt.Orientation.Horizontal, minimum=round(100 * rate.meta.low),
                                   maximum=round(100 * rate.meta.high))
        self.rate_slider.setToolTip(tooltip(rate))
        self.rate_label = QLabel()
        self.rate_label.setMinimumWidth(40)
        row = QHBoxLayout()
        row.addWidget(self.rate_slider, 1)
        row.addWidget(self.rate_label)
        form.addRow(plain_label(QLabel(rate.meta.label), "mask_rate"), row)
        form.addRow(plain_label(QLabel("Of the chosen tokens"), "split"), self._build_split())
        self.why = QLabel("<a href='why'>Why not [MASK] them all?</a>")
        self.why.setToolTip("Why 80% [MASK], 10% random, 10% kept, and why 15%")
        self.why.linkActivated.connect(self.explain_split)
        self.why_box: QMessageBox | None = None
        form.addRow("", self.why)
        self.strategy_combo, self.span_p, self.span_max = (
            editor(MaskingConfig.spec(name)) for name in ("strategy", "span_geometric_p", "span_max_length"))
        for name, widget in (("strategy", self.strategy_combo), ("span_geometric_p", self.span_p),
                             ("span_max_length", self.span_max)):
            form.addRow(MaskingConfig.spec(name).meta.label, widget)
        self.dynamic_radio = QRadioButton("Dynamic: a fresh mask every time a sequence is seen")
        self.static_radio = QRadioButton("Static: the same mask every epoch")
        dynamic_group = QButtonGroup(self)
        for radio in (self.dynamic_radio, self.static_radio):
            radio.setToolTip(tooltip(MaskingConfig.spec("dynamic")))
            mark_advanced(radio, MaskingConfig.spec("dynamic").meta.advanced)
            dynamic_group.addButton(radio)
        form.addRow("Masks", self.dynamic_radio)
        form.addRow("", self.static_radio)
        self.schedule = SettingField(MaskingConfig.spec("rate_schedule"))
        self.schedule_shape, self.eval_rate = (editor(MaskingConfig.spec(n))
                                               for n in ("schedule_shape", "eval_mlm_probability"))
        self.schedule_error = QLabel()
        self.schedule_error.setStyleSheet("color: #c0392b;")
        self.schedule_error.hide()
        for name, widget in (("rate_schedule", self.schedule), ("schedule_shape", self.schedule_shape),
                             ("eval_mlm_probability", self.eval_rate)):
            form.addRow(MaskingConfig.spec(name).meta.label, widget)
        form.addRow("", self.schedule_error)
        self.schedule.changed.connect(self._on_changed)
        self.schedule_shape.currentTextChanged.connect(self._on_changed)
        self.eval_rate.valueChanged.connect(self._on_changed)
        self.rate_slider.valueChanged.connect(self._on_changed)
        self.strategy_combo.currentTextChanged.connect(self._on_changed)
        self.span_p.valueChanged.connect(self._on_changed)
        self.span_max.valueChanged.connect(self._on_changed)
        self.static_radio.toggled.connect(self._on_changed)

    def _build_split(self) -> QHBoxLayout:
        tips = (tooltip(MaskingConfig.spec("mask_replace_prob")), tooltip(MaskingConfig.spec("random_replace_prob")),
                "Of the chosen tokens, the share left unchanged (the model must still predict them).")
        row = QHBoxLayout()
        self.split_spins = []
        for name, term, tip in zip(SPLIT_NAMES, ("mask", "random", "kept"), tips):
            spin = QSpinBox(minimum=0, maximum=100, suffix="%")
            spin.setToolTip(tip + " The three always add up to 100%: a change is taken from 'keep' first.")
            spin.valueChanged.connect(self._on_split_changed)
            row.addWidget(plain_label(QLabel(name), term))
            row.addWidget(spin)
            self.split_spins.append(spin)
        return row

    @Slot()
    def explain_split(self) -> None:
        """The help on the split: why some chosen tokens stay visible or are swapped (the lesson's own words)."""
        self.why_box = QMessageBox(QMessageBox.Icon.Information, "Why 80/10/10?", MASKING_WHY, parent=self)
        self.why_box.setModal(False)
        self.why_box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.why_box.show()

    def _split(self) -> tuple[int, int, int]:
        return tuple(spin.value() for spin in self.split_spins)  # type: ignore[return-value]

    def _set_split(self, split: tuple[int, int, int]) -> None:
        for spin, value in zip(self.split_spins, split):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)

    def load(self, config: MaskingConfig) -> None:
        """Show `config` without announcing it (no `changed`)."""
        widgets = [self.rate_slider, self.strategy_combo, self.span_p, self.span_max, self.static_radio,
                   self.schedule, self.schedule_shape, self.eval_rate]
        for widget in widgets:
            widget.blockSignals(True)
        self.rate_slider.setValue(round(config.mlm_probability * 100))
        mask, random = round(config.mask_replace_prob * 100), round(config.random_replace_prob * 100)
        self._set_split(rebalance_split((mask, random, 100 - mask - random), 0, mask))
        self.strategy_combo.setCurrentText(config.strategy)
        self.span_p.setValue(config.span_geometric_p)
        self.span_max.setValue(config.span_max_length)
        (self.dynamic_radio if config.dynamic else self.static_radio).setChecked(True)
        self.schedule.set_value(config.rate_schedule)
        self.schedule_shape.setCurrentText(config.schedule_shape)
        self.eval_rate.setValue(config.eval_mlm_probability)
        for widget in widgets:
            widget.blockSignals(False)
        self._show()

    def config(self, seed: int) -> MaskingConfig:
        """The configuration the widgets show, with `seed` (the form has none: a run masks with its own)."""
        return MaskingConfig.from_split(
            *self._split(), mlm_probability=self.rate_slider.value() / 100,
            strategy=self.strategy_combo.currentText(), span_geometric_p=round(self.span_p.value(), 4),
            span_max_length=self.span_max.value(), dynamic=self.dynamic_radio.isChecked(), seed=seed,
            rate_schedule=self._schedule(), schedule_shape=self.schedule_shape.currentText(),
            eval_mlm_probability=round(self.eval_rate.value(), 4),
        )

    def _schedule(self) -> str | None:
        """The schedule typed, if it is valid; else none, with the reason shown under it."""
        typed = self.schedule.value()
        try:
            MaskingConfig(rate_schedule=typed or None)
        except SettingError as error:
            self.schedule_error.setText(f"{label_error(MaskingConfig, error)}: the run masks at the rate above "
                                        "until this is fixed")
            self.schedule_error.show()
            return None
        self.schedule_error.hide()
        return typed or None

    def _show(self) -> None:
        self.rate_label.setText(f"{self.rate_slider.value()}%")
        is_span = self.strategy_combo.currentText() == "span"
        self.span_p.setEnabled(is_span)
        self.span_max.setEnabled(is_span)
        self.schedule_shape.setEnabled(not self.schedule.is_none())

    @Slot(int)
    def _on_split_changed(self, value: int) -> None:
        index = self.split_spins.index(self.sender())
        self._set_split(rebalance_split(self._split(), index, value))
        self._on_changed()

    @Slot()
    def _on_changed(self, *args: object) -> None:
        self._show()
        self.changed.emit()
