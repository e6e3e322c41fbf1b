"""Widgets made from the settings' metadata (`workbench.settings.base.Meta`): each setting's editor gets its
range, arrow step, special value, default and tooltip from there, so the window and the command line cannot
drift apart.

`editor(spec)` is the bare widget for one setting (a spin box, a combo box, a check box); `SettingField` wraps it
with a "none" check box where the setting may be None; `SettingsForm` lays out groups of fields of one settings
class, reads a validated config from them (`config()`) and shows one in them (`apply()`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.advanced import mark_advanced
from workbench.settings.base import SettingError, Settings, Spec, format_default

INT_LIMIT = 2**31 - 1  # QSpinBox holds a C int
FLOAT_LIMIT = 1e9
SMALLEST_RATE = 1e-7  # where a decade-spanning number must stay above 0, the smallest the box offers


def tooltip(spec: Spec) -> str:
    """The setting's sentence and its default: what a person needs before changing it."""
    return f"{spec.meta.help} Default: {format_default(spec)}."


def label_error(cls: type[Settings], error: SettingError) -> str:
    """A refused value in the window's words: the field's label instead of the setting's name."""
    return error.spelled(cls.spec(error.field).meta.label)


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
        self.setValue(min(max(value, self.minimum()), self.maximum()))


def _ladder_step(value: float, up: bool) -> float:
    """The next value on the 1-2-5 ladder (1e-4, 2e-4, 5e-4, 1e-3, ...) above or below `value`."""
    exponent = math.floor(math.log10(value))
    ladder = [m * 10.0 ** e for e in (exponent - 1, exponent, exponent + 1) for m in (1.0, 2.0, 5.0)]
    if up:
        return next(v for v in ladder if v > value * (1 + 1e-9))
    return next(v for v in reversed(ladder) if v < value * (1 - 1e-9))


def _bounds(spec: Spec, limit: float) -> tuple[float, float]:
    meta = spec.meta
    high = meta.high if meta.high is not None else meta.widget_high if meta.widget_high is not None else limit
    return (meta.low if meta.low is not None else -limit), min(high, limit)


def editor(spec: Spec, choices: Sequence[str] | None = None) -> QWidget:
    """The bare widget for one setting, at its default (a None default shows its suggested, else lowest, value)."""
    meta = spec.meta
    default = spec.default if spec.default is not None else meta.suggested
    if spec.kind is bool:
        widget: QWidget = QCheckBox()
        widget.setChecked(bool(default))
    elif spec.kind is str and choices is None and not meta.choices:  # free text (a pattern says what is allowed)
        widget = QLineEdit(default or "")
        widget.setPlaceholderText(meta.allowed)
    elif spec.kind is str:
        widget = QComboBox()
        widget.addItems(list(choices if choices is not None else meta.choices or ()))
        if widget.findText(default) >= 0:
            widget.setCurrentText(default)
    elif spec.kind is int:
        low, high = _bounds(spec, INT_LIMIT)
        widget = QSpinBox(minimum=int(low), maximum=int(high), singleStep=int(meta.step or 1))
        widget.setGroupSeparatorShown(True)
        widget.setValue(int(default) if default is not None else int(low))
    elif meta.log_scale:
        low, high = _bounds(spec, FLOAT_LIMIT)
        low = max(low, SMALLEST_RATE) if meta.low_open else low
        widget = ScientificSpinBox(low, high, default if default is not None else low)
    else:
        low, high = _bounds(spec, FLOAT_LIMIT)
        widget = QDoubleSpinBox(minimum=low, maximum=high, decimals=meta.decimals, singleStep=meta.step or 0.1)
        widget.setValue(default if default is not None else low)
    if meta.special and isinstance(widget, (QSpinBox, QDoubleSpinBox)):
        widget.setSpecialValueText(meta.special)  # shown at the minimum, e.g. 0 = "off"
    widget.setToolTip(tooltip(spec))
    mark_advanced(widget, spec.meta.advanced)
    return widget


def editor_value(widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QComboBox):
        return widget.currentText()
    if isinstance(widget, QLineEdit):
        return widget.text().strip()
    return widget.value()


def set_editor_value(widget: QWidget, value: Any) -> None:
    """Show `value`; a choice the combo box lacks (a device this machine has not) keeps the current one."""
    if isinstance(widget, QCheckBox):
        widget.setChecked(bool(value))
    elif isinstance(widget, QComboBox):
        if widget.findText(value) >= 0:
            widget.setCurrentText(value)
    elif isinstance(widget, QLineEdit):
        widget.setText(value)
    else:
        widget.setValue(value)


def changed_signal(widget: QWidget) -> Any:
    if isinstance(widget, QCheckBox):
        return widget.toggled
    if isinstance(widget, QComboBox):
        return widget.currentTextChanged
    if isinstance(widget, QLineEdit):
        return widget.textChanged
    return widget.valueChanged


class SettingField(QWidget):
    """One setting's editor; where None is allowed, a check box beside it says what None means in the setting's
    words ("use the learning rate") and disables the editor while ticked."""

    changed = Signal()

    def __init__(self, spec: Spec, choices: Sequence[str] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.editor = editor(spec, choices)
        self.none_box: QCheckBox | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.editor, 1)
        changed_signal(self.editor).connect(self.changed)
        if spec.optional:
            self.none_box = QCheckBox(f"use {spec.meta.none}" if spec.meta.none else "none")
            self.none_box.setToolTip(f"Leave it to {spec.meta.none}." if spec.meta.none else "No value.")
            self.none_box.toggled.connect(self._none_toggled)
            self.none_box.setChecked(spec.default is None)
            self._none_toggled()
            layout.addWidget(self.none_box)
        self.setToolTip(tooltip(spec))

    @Slot()
    def _none_toggled(self) -> None:
        self.editor.setEnabled(not self.is_none())
        self.changed.emit()

    def is_none(self) -> bool:
        return self.none_box is not None and self.none_box.isChecked()

    def value(self) -> Any:
        return None if self.is_none() else editor_value(self.editor)

    def set_value(self, value: Any) -> None:
        if self.none_box is not None:
            self.none_box.setChecked(value is None)
        if value is not None:
            set_editor_value(self.editor, value)

    def set_choices(self, items: Sequence[str]) -> None:
        """New items for a combo box (devices, precisions), keeping the current choice where it is still there."""
        combo = self.editor
        assert isinstance(combo, QComboBox)
        current = combo.currentText()
        combo.blockSignals(True)
        combo.clear()
        combo.addItems(list(items))
        if combo.findText(current) >= 0:
            combo.setCurrentText(current)
        combo.blockSignals(False)
        if combo.currentText() != current:
            self.changed.emit()


class SettingsForm(QWidget):
    """Groups of fields of one settings class: `config()` builds (and so validates) it from the fields shown,
    the settings it does not show as last applied (else their defaults); `apply()` shows one."""

    changed = Signal()

    def __init__(self, cls: type[Settings], groups: Sequence[tuple[str, Sequence[str]]],
                 choices: dict[str, Sequence[str]] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cls = cls
        self.applied = cls()  # what the fields start from; holds the settings the form does not show
        self.fields: dict[str, SettingField] = {}
        self.layouts: dict[str, QFormLayout] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for title, names in groups:
            box = QGroupBox(title)
            form = QFormLayout(box)
            for name in names:
                field = SettingField(cls.spec(name), (choices or {}).get(name))
                field.changed.connect(self.changed)
                form.addRow(field.spec.meta.label, field)
                self.fields[name] = field
            self.layouts[title] = form
            layout.addWidget(box)
        layout.addStretch(1)

    def editor(self, name: str) -> QWidget:
        """The widget that edits setting `name`."""
        return self.fields[name].editor

    def values(self) -> dict[str, Any]:
        return {name: field.value() for name, field in self.fields.items()}

    def config(self, **fixed: Any) -> Settings:
        """The settings the form shows; raises SettingError (see `label_error` for the window's words)."""
        return self.applied.replace(**self.values(), **fixed)

    def apply(self, config: Settings) -> None:
        self.applied = config
        for name, field in self.fields.items():
            field.set_value(getattr(config, name))
