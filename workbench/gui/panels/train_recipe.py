"""The Train panel's recipe choice: Custom, or one of the papers' recipes (`workbench.settings.recipes`), each
item's tooltip naming its paper and what it changes against BERT (2018). Choosing a recipe asks the panel to fill
the Model, Masking and Train forms with its values (`chosen`); the line under it names the fields changed since
(`show_changes`). Classroom mode hides it with the other advanced settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from workbench.gui.advanced import mark_advanced
from workbench.gui.settings_form import tooltip
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import RECIPES

CUSTOM = "Custom"


class RecipeChoice(QGroupBox):
    """A combo box of Custom and the recipes, and a line saying what was changed after choosing one."""

    chosen = Signal(object)  # the recipe's name, or None for Custom

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Recipe", parent)
        spec = PretrainSpec.spec("recipe")
        self.combo = QComboBox()
        self.combo.addItem(CUSTOM, None)
        self.combo.setItemData(0, "Your own settings, as the forms show them.", Qt.ItemDataRole.ToolTipRole)
        for recipe in RECIPES.values():
            self.combo.addItem(recipe.label, recipe.name)
            self.combo.setItemData(self.combo.count() - 1, recipe.tooltip(), Qt.ItemDataRole.ToolTipRole)
        self.setting_tip = tooltip(spec)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #b35900;")
        form = QFormLayout(self)
        form.addRow(spec.meta.label, self.combo)
        form.addRow(self.note)
        mark_advanced(self.combo, spec.meta.advanced)
        mark_advanced(self.note, spec.meta.advanced)
        self.combo.currentIndexChanged.connect(self._on_index)
        self._on_index()

    def name(self) -> str | None:
        """The recipe chosen (its CLI name), or None for Custom."""
        return self.combo.currentData()

    def set_name(self, name: str | None) -> None:
        """Show recipe `name` (None: Custom) without filling the forms."""
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(max(0, self.combo.findData(name)))
        self.combo.blockSignals(False)
        self._show_tip()

    def show_changes(self, changed: list[str]) -> None:
        """Name the recipe fields that differ from the recipe's values (nothing for Custom)."""
        self.note.setText(f"Changed from the recipe: {', '.join(changed)}" if changed and self.name() else "")
        self.note.setVisible(bool(self.note.text()))

    def _show_tip(self) -> None:
        recipe = RECIPES.get(self.name() or "")
        self.combo.setToolTip(self.setting_tip if recipe is None else f"{recipe.tooltip()}\n\n{self.setting_tip}")

    @Slot()
    def _on_index(self, *args: object) -> None:
        self._show_tip()
        self.chosen.emit(self.name())
