"""The Train panel's settings form: optimiser, schedule, batch, intervals, device and precision, with a tooltip on
every field. `TrainSettings.config()` reads a `TrainConfig` from the form and `apply()` shows one in it.

Devices are only those this machine has (`available_devices`), and precisions only those the chosen device
supports (`available_precisions`), so the form cannot ask for a run that fails on start.
"""

from __future__ import annotations

import math

import torch
from PySide6.QtCore import Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLineEdit, QSpinBox, QVBoxLayout, QWidget,
)

from workbench.core.devices import available_devices, available_precisions
from workbench.core.training_types import SCHEDULES
from workbench.core.training_types import TrainConfig


class ScientificSpinBox(QDoubleSpinBox):
    """A number box for values spanning decades (learning rates): typed as 5e-4, arrows step along 1-2-5."""

    def __init__(self, low: float, high: float, value: float) -> None:
        super().__init__()
        self.setDecimals(12)
        self.setRange(low, high)
        self.setValue(value)

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        return float(text)

    def validate(self, text: str, pos: int) -> object:
        try:
            ok = self.minimum() <= float(text) <= self.maximum()
        except ValueError:
            ok = False
        return QValidator.State.Acceptable if ok else QValidator.State.Intermediate, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = _ladder_step(value, up=steps > 0)
        self.setValue(value)


def _ladder_step(value: float, up: bool) -> float:
    """The next value on the 1-2-5 ladder (1e-4, 2e-4, 5e-4, 1e-3, ...) above or below `value`."""
    exponent = math.floor(math.log10(value))
    ladder = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in (1.0, 2.0, 5.0)]
    if up:
        return next(v for v in ladder if v > value * (1 + 1e-9))
    return next(v for v in reversed(ladder) if v < value * (1 - 1e-9))


def _spin(low: int, high: int, value: int, special: str | None = None) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    box.setValue(value)
    box.setGroupSeparatorShown(True)
    if special:
        box.setSpecialValueText(special)  # shown at the minimum, e.g. 0 = "only at the end"
    return box


def _float_spin(low: float, high: float, value: float, step: float, decimals: int,
                special: str | None = None) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setSingleStep(step)
    box.setValue(value)
    if special:
        box.setSpecialValueText(special)
    return box


class TrainSettings(QWidget):
    """The form of training settings; `config()` reads a TrainConfig from it, `apply()` writes one into it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        d = TrainConfig()
        self.name = QLineEdit()
        self.name.setPlaceholderText("automatic (run-N)")
        self.steps = _spin(1, 10_000_000, d.steps)
        self.batch_size = _spin(1, 4096, d.batch_size)
        self.seed = _spin(0, 2**31 - 1, d.seed)
        self.lr = ScientificSpinBox(1e-7, 1.0, d.lr)
        self.warmup = _spin(0, 10_000_000, d.warmup_steps)
        self.schedule = QComboBox()
        self.schedule.addItems(SCHEDULES)
        self.weight_decay = _float_spin(0.0, 1.0, d.weight_decay, 0.01, 4)
        self.grad_clip = _float_spin(0.0, 1000.0, d.grad_clip, 0.5, 2, special="off")
        self.grad_accum = _spin(1, 1024, d.grad_accum)
        self.eval_every = _spin(0, 10_000_000, d.eval_every, special="only at the end")
        self.checkpoint_every = _spin(0, 10_000_000, d.checkpoint_every, special="only at the end")
        self.log_every = _spin(1, 100_000, d.log_every)
        self.device = QComboBox()
        self.device.addItems(available_devices())
        self.precision = QComboBox()
        self.device.currentTextChanged.connect(self._device_changed)
        self._device_changed(self.device.currentText())
        self._set_tooltips()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, rows in (
            ("Run", [("Name", self.name), ("Steps", self.steps), ("Batch size", self.batch_size),
                     ("Seed", self.seed)]),
            ("Optimiser (AdamW)", [("Learning rate", self.lr), ("Warm-up steps", self.warmup),
                                   ("Schedule", self.schedule), ("Weight decay", self.weight_decay),
                                   ("Gradient clip", self.grad_clip), ("Gradient accumulation", self.grad_accum)]),
            ("Evaluation and saving", [("Evaluate every", self.eval_every),
                                       ("Checkpoint every", self.checkpoint_every), ("Log every", self.log_every)]),
            ("Hardware", [("Device", self.device), ("Precision", self.precision)]),
        ):
            group = QGroupBox(title)
            form = QFormLayout(group)
            for label, widget in rows:
                form.addRow(label, widget)
            layout.addWidget(group)
        layout.addStretch(1)

    def _set_tooltips(self) -> None:
        tips = {
            self.name: "A name to find this run again later; left empty, it is called run-N.",
            self.steps: "How many times the model's weights are updated (optimizer steps). Default 1000.",
            self.batch_size: "How many text blocks the model reads at once in each step. Default 32.",
            self.seed: "Starting point of all randomness (weights, data order, dropout, masks): the same seed "
                       "gives the same run. Default 0.",
            self.lr: "Peak learning rate: how big each update is. Too high and training diverges, too low and it "
                     "learns slowly. Default 5e-4.",
            self.warmup: "Steps over which the learning rate climbs from 0 to its peak, which keeps the first "
                         "updates gentle. Default 100.",
            self.schedule: "How the learning rate falls to 0 after warm-up: linear, cosine, or constant (stays "
                           "at the peak). Default linear.",
            self.weight_decay: "Pulls weights gently towards zero to avoid overfitting (not on biases and "
                               "LayerNorm). Default 0.01.",
            self.grad_clip: "Caps the size of each update's gradient to keep training stable; off turns the cap "
                            "off. Default 1.0.",
            self.grad_accum: "Adds up this many batches before each update: a bigger effective batch without "
                             "more memory. Default 1.",
            self.eval_every: "Steps between checks on held-out text (validation loss, accuracy, unigram "
                             "baseline). Default 100.",
            self.checkpoint_every: "Steps between saved copies of the model (one is also saved at the end and when "
                                   "you press Stop). Default 500.",
            self.log_every: "Steps between points on the training-loss curve. Default 10.",
            self.device: "Where the model trains: a GPU (cuda, mps) when this computer has one, else the CPU.",
            self.precision: "Number format for the computation: fp32 is exact; bf16 / fp16 are faster on GPUs "
                            "that support them. Only formats this device supports are listed.",
        }
        for widget, tip in tips.items():
            widget.setToolTip(tip)

    @Slot(str)
    def _device_changed(self, name: str) -> None:
        current = self.precision.currentText()
        self.precision.clear()
        if name:
            self.precision.addItems(available_precisions(torch.device(name)))
        if self.precision.findText(current) >= 0:
            self.precision.setCurrentText(current)

    def config(self) -> TrainConfig:
        return TrainConfig(
            steps=self.steps.value(), batch_size=self.batch_size.value(), lr=self.lr.value(),
            warmup_steps=self.warmup.value(), schedule=self.schedule.currentText(),
            weight_decay=self.weight_decay.value(), grad_clip=self.grad_clip.value(),
            grad_accum=self.grad_accum.value(), eval_every=self.eval_every.value(),
            checkpoint_every=self.checkpoint_every.value(), log_every=self.log_every.value(),
            device=self.device.currentText(), precision=self.precision.currentText(), seed=self.seed.value(),
        )

    def apply(self, config: TrainConfig) -> None:
        """Show `config` in the form; a device or precision this machine lacks keeps the current choice."""
        for box, value in ((self.steps, config.steps), (self.batch_size, config.batch_size), (self.lr, config.lr),
                           (self.warmup, config.warmup_steps), (self.weight_decay, config.weight_decay),
                           (self.grad_clip, config.grad_clip), (self.grad_accum, config.grad_accum),
                           (self.eval_every, config.eval_every), (self.checkpoint_every, config.checkpoint_every),
                           (self.log_every, config.log_every), (self.seed, config.seed)):
            box.setValue(value)
        for combo, text in ((self.schedule, config.schedule), (self.device, config.device),
                            (self.precision, config.precision)):
            if combo.findText(text) >= 0:
                combo.setCurrentText(text)
