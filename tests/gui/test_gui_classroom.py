"""Classroom mode (View → Classroom, F11) in the real main window: large type that reverts exactly, high contrast,
full screen, advanced settings hidden and shown again, remembered across restarts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication

from workbench.gui.classroom import FONT_SCALE
from workbench.gui.main_window import MainWindow
from workbench.gui.settings_form import SettingsForm
from workbench.settings.train import TrainConfig


def row_shown(form: SettingsForm, name: str) -> bool:
    """Whether the form row of setting `name` is shown (its group box too)."""
    field = form.fields[name]
    for layout in form.layouts.values():
        row, _ = layout.getWidgetPosition(field)
        if row >= 0:
            return layout.isRowVisible(row) and not layout.parentWidget().isHidden()
    raise AssertionError(f"{name} is not in the form")


def test_f11_turns_classroom_mode_on_and_off(qtbot, window: MainWindow) -> None:
    normal_size = QApplication.font().pointSizeF()
    normal_text = QApplication.palette().color(QPalette.ColorRole.WindowText)
    label_size = window.activity_label.font().pointSizeF()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.classroom.on and window.state.classroom and window.classroom.action.isChecked()
    assert QApplication.font().pointSizeF() / normal_size >= 1.5
    assert window.activity_label.font().pointSizeF() / label_size >= 1.5  # app-wide: every widget, at once
    assert QApplication.palette().color(QPalette.ColorRole.WindowText).name() == "#000000"
    assert QApplication.palette().color(QPalette.ColorRole.Window).name() == "#ffffff"
    qtbot.waitUntil(window.isFullScreen)  # the platform's answer comes as an event
    assert window.lesson.isVisible()

    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert not window.classroom.on and not window.state.classroom
    assert QApplication.font().pointSizeF() == normal_size
    assert window.activity_label.font().pointSizeF() == label_size
    assert QApplication.palette().color(QPalette.ColorRole.WindowText) == normal_text
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert not window.lesson.isVisible()
    assert FONT_SCALE >= 1.5


def test_advanced_settings_are_hidden_in_classroom_mode(qtbot, window: MainWindow) -> None:
    form = window.train.settings
    advanced = [spec.name for spec in TrainConfig.specs() if spec.meta.advanced and spec.name in form.fields]
    plain = [spec.name for spec in TrainConfig.specs() if not spec.meta.advanced and spec.name in form.fields]
    assert {"grad_clip", "weight_decay", "precision"} <= set(advanced) and {"steps", "lr"} <= set(plain)
    assert all(row_shown(form, name) for name in advanced + plain)

    window.classroom.set_on(True)
    assert not any(row_shown(form, name) for name in advanced)
    assert all(row_shown(form, name) for name in plain)
    feed_forward, layers = window.model.spins["intermediate_size"], window.model.spins["num_hidden_layers"]
    assert not feed_forward.isVisibleTo(window.model) and layers.isVisibleTo(window.model)  # the Model panel's too
    assert not window.masking.form.span_p.isVisibleTo(window.masking)

    window.classroom.set_on(False)
    assert all(row_shown(form, name) for name in advanced + plain)
    assert feed_forward.isVisibleTo(window.model) and window.masking.form.span_p.isVisibleTo(window.masking)


def test_a_panel_built_in_classroom_mode_hides_its_advanced_settings(qtbot, home: Path) -> None:
    window = MainWindow(home)
    qtbot.addWidget(window)
    window.classroom.set_on(True)
    finetune = window.finetune  # built now, after classroom mode was turned on
    fields = {name: field for form in finetune.findChildren(SettingsForm) for name, field in form.fields.items()}
    assert not fields["weight_decay"].isVisibleTo(finetune) and fields["epochs"].isVisibleTo(finetune)
    window.close()


def test_classroom_mode_is_remembered_across_restarts(qtbot, home: Path) -> None:
    first = MainWindow(home)
    qtbot.addWidget(first)
    normal_size = QApplication.font().pointSizeF()
    first.classroom.set_on(True)
    first.close()
    assert QApplication.font().pointSizeF() == normal_size  # a closed window gives the font back

    second = MainWindow(home)
    qtbot.addWidget(second)
    assert second.classroom.on and second.classroom.action.isChecked()
    assert QApplication.font().pointSizeF() >= 1.5 * normal_size
    second.classroom.set_on(False)
    second.close()

    third = MainWindow(home)
    qtbot.addWidget(third)
    assert not third.classroom.on
    third.close()
