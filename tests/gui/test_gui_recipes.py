"""The recipe choice at the top of the Train panel, in the real window: choosing Cramming fills the Model panel's
pre-LN and biases, the Masking panel's dynamic masks and the Train form's one-cycle schedule; a field changed
afterwards is named under the choice; a run started then trains with those settings and records the recipe;
Custom keeps the values; classroom mode hides the choice."""

from __future__ import annotations

import shlex

import pytest
from PySide6.QtCore import Qt

from workbench.cli.main import build_parser
from workbench.cli.train_cmd import spec_from_args

from workbench.gui.main_window import PANEL_INDEX, MainWindow
from workbench.settings.recipes import RECIPES

pytestmark = pytest.mark.slow
WAIT = 180_000  # ms: the run trains its tokenizer first, on a busy machine


def choose(window: MainWindow, name: str | None) -> None:
    combo = window.train.settings.recipe.combo
    combo.setCurrentIndex(combo.findData(name))


def test_choosing_cramming_fills_the_forms_and_the_run_has_it(qtbot, window: MainWindow) -> None:
    combo = window.train.settings.recipe.combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["Custom", *(r.label for r in RECIPES.values())]
    assert all(RECIPES[combo.itemData(i)].paper in combo.itemData(i, Qt.ItemDataRole.ToolTipRole)
               for i in range(1, combo.count()))
    window.show_panel(PANEL_INDEX["model"])
    window.model.preset_combo.setCurrentText("seed-demo")
    window.model.spins["max_position_embeddings"].setValue(32)
    window.show_panel(PANEL_INDEX["train"])
    choose(window, "cramming")
    model, settings = window.model, window.train.settings
    assert model.pre_ln_check.isChecked() and not model.options["bias"].isChecked()
    assert model.options["feed_forward"].currentText() == "geglu" and model.options["dropout"].value() == 0.0
    assert settings.editor("schedule").currentText() == "one-cycle" and settings.editor("grad_clip").value() == 0.5
    assert window.masking.form.dynamic_radio.isChecked()
    assert (window.model.preset_combo.currentText(), window.state.model.max_position_embeddings) == ("seed-demo", 32)
    assert not settings.recipe.note.isVisibleTo(settings)  # nothing changed yet

    settings.editor("lr").setValue(2e-3)  # changed after choosing the recipe
    assert settings.recipe.note.text() == "Changed from the recipe: lr"
    for name, value in (("steps", 20), ("batch_size", 8), ("eval_every", 10), ("checkpoint_every", 0)):
        settings.editor(name).setValue(value)
    settings.editor("device").setCurrentText("cpu")
    qtbot.mouseClick(window.train.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.train.task is None, timeout=WAIT)
    run = window.state.store.get_run(window.train.run_id)
    assert run.status == "completed", run.error
    assert (run.config["model"]["pre_layer_norm"], run.config["model"]["linear_bias"],
            run.config["model"]["feed_forward"], run.config["train"]["schedule"]) == (True, False, "geglu",
                                                                                     "one-cycle")
    assert run.config["recipe"] == {"name": "cramming", "changed": ["lr"]}

    choose(window, "modernbert")  # another recipe replaces all of Cramming's values
    assert model.options["position_embedding_type"].currentText() == "rope"
    assert model.options["local_attention"].value() == 64 and settings.editor("schedule").currentText() == "wsd"
    assert window.state.masking.mlm_probability == pytest.approx(0.3)
    model.pre_ln_check.setChecked(False)  # back to BERT's layout: a change against the recipe
    assert settings.recipe.note.text() == "Changed from the recipe: pre-ln"
    line = window.train.copy_command()  # the terminal's line: the recipe, and the change back to post-LN
    assert "--recipe modernbert" in line and "--no-pre-ln" in line
    assert spec_from_args(build_parser().parse_args(shlex.split(line)[3:])) == window.train.spec()
    choose(window, None)  # Custom keeps what the forms show
    assert window.train.spec().recipe is None and window.state.model.position_embedding_type == "rope"
    assert not settings.recipe.note.text()


def test_classroom_mode_hides_the_recipe_choice(qtbot, window: MainWindow) -> None:
    window.show_panel(PANEL_INDEX["train"])
    recipe = window.train.settings.recipe
    assert not recipe.isHidden()
    window.classroom.set_on(True)
    assert recipe.isHidden()
    window.classroom.set_on(False)
    assert not recipe.isHidden() and recipe.combo.isVisibleTo(recipe)
