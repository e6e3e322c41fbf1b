"""The recipe screenshot for docs/recipes.md: the Train panel on a 1280 x 720 screen with Cramming chosen (its
values filled into the forms) and two fields changed after choosing it (named under the choice).

    .venv/bin/python docs/make_recipe_screenshots.py

It needs no display (Qt's offscreen platform with a 1280 x 720 screen). It writes docs/screenshots/train-recipes.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from make_classroom_screenshots import screen_config
from make_screenshots import OUT, settle


def main() -> int:
    os.environ["QT_QPA_PLATFORM"] = screen_config()
    from PySide6.QtWidgets import QApplication

    from workbench.gui.main_window import PANEL_INDEX, MainWindow

    app = QApplication(sys.argv[:1])
    window = MainWindow(Path(tempfile.mkdtemp(prefix="mlm-recipes-home-")))
    window.showMaximized()
    window.show_panel(PANEL_INDEX["train"])
    combo = window.train.settings.recipe.combo
    combo.setCurrentIndex(combo.findData("cramming"))
    window.train.settings.editor("lr").setValue(2e-3)
    window.model.pre_ln_check.setChecked(False)
    settle(app, 1.5)
    path = OUT / "train-recipes.png"
    window.grab().save(str(path))
    print(f"{path} ({window.width()} x {window.height()}): {window.train.settings.recipe.note.text()}")
    window.confirm_stop_running = lambda: True
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
