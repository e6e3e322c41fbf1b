"""The window's setting fields are made from the settings' metadata: ranges, special values, defaults and
tooltips are the settings' own, and None shows as a tick box in the setting's words."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtWidgets import QAbstractSpinBox, QCheckBox, QComboBox  # noqa: E402

from workbench.gui.panels.finetune_data import SettingsGroup  # noqa: E402
from workbench.gui.panels.train_settings import TrainSettings  # noqa: E402
from workbench.gui.settings_form import FLOAT_LIMIT, INT_LIMIT, label_error, tooltip  # noqa: E402
from workbench.settings.base import SettingError  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402


@pytest.mark.parametrize("form_class", [TrainSettings, SettingsGroup])
def test_fields_take_range_default_and_tooltip_from_the_settings(qtbot, form_class) -> None:
    form = form_class()
    qtbot.addWidget(form)
    for name, field in form.fields.items():
        spec, editor = field.spec, field.editor
        assert editor.toolTip() == tooltip(spec) and spec.meta.help in editor.toolTip()
        if isinstance(editor, QAbstractSpinBox):
            limit = INT_LIMIT if spec.kind is int else FLOAT_LIMIT
            high = spec.meta.high if spec.meta.high is not None else spec.meta.widget_high or limit
            assert editor.maximum() == pytest.approx(min(high, limit)), name
            if spec.meta.low is not None and not spec.meta.low_open:
                assert editor.minimum() == spec.meta.low, name
            if spec.default is not None:
                assert editor.value() == pytest.approx(spec.default), name
            if spec.meta.special:
                assert editor.specialValueText() == spec.meta.special
        elif isinstance(editor, QCheckBox):
            assert editor.isChecked() == spec.default
        elif isinstance(editor, QComboBox) and name != "precision":  # precisions: those the device supports
            if spec.meta.choices:
                assert [editor.itemText(i) for i in range(editor.count())] == list(spec.meta.choices)
    assert form.config() == form.cls().replace(device=form.fields["device"].value())  # a fresh form: the defaults


def test_none_is_a_tick_box_in_the_settings_words(qtbot) -> None:
    form = SettingsGroup()
    qtbot.addWidget(form)
    head = form.fields["head_lr"]
    assert head.none_box.text() == "use the learning rate" and head.is_none() and not head.editor.isEnabled()
    assert form.fields["lr"].none_box.text() == "use the rate for the model's size" and form.fields["lr"].is_none()
    form.fields["lr"].none_box.setChecked(False)  # the user chooses the model's rate
    form.editor("lr").setValue(2e-4)
    assert head.editor.value() == pytest.approx(2e-4)  # while it is the model's rate, it shows that rate
    head.none_box.setChecked(False)
    head.editor.setValue(1e-3)
    assert form.config().head_lr == pytest.approx(1e-3) and form.config().lr == pytest.approx(2e-4)
    form.apply(FinetuneConfig(head_lr=None, epochs=7))
    assert head.is_none() and form.config().head_lr is None and form.editor("epochs").value() == 7


def test_settings_the_form_does_not_show_survive_apply(qtbot) -> None:
    form = TrainSettings()
    qtbot.addWidget(form)
    form.apply(TrainConfig(adam_eps=1e-8, eval_batches=3, steps=12))
    config = form.config()
    assert (config.adam_eps, config.eval_batches, config.steps) == (1e-8, 3, 12)


def test_the_objective_is_chosen_in_the_form_and_the_generator_settings_are_electras(qtbot) -> None:
    form = TrainSettings()
    qtbot.addWidget(form)
    assert form.config().objective == "mlm" and not form.fields["disc_weight"].isEnabled()
    form.editor("objective").setCurrentText("electra")
    form.editor("generator_hidden_size").setValue(0.5)
    assert form.fields["generator_hidden_size"].isEnabled() and form.fields["disc_weight"].isEnabled()
    assert (form.config().objective, form.config().generator_hidden_size) == ("electra", 0.5)
    form.apply(TrainConfig(objective="clm"))  # a resumed CLM run's settings
    assert form.config().objective == "clm" and not form.fields["generator_hidden_size"].isEnabled()


def test_errors_use_the_fields_label() -> None:
    with pytest.raises(SettingError) as err:
        TrainConfig(warmup_steps=-1)
    assert label_error(TrainConfig, err.value).startswith("Warm-up steps must be an integer from 0")
