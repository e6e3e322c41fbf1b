"""The classroom-mode screenshot for the README: the window full screen on a 1280 x 720 screen, large type and plain
words, the guided lesson's strip at the bottom on its third step (the bundled demo model filling in "lima is a city
in [MASK]."), and docs/screenshots/classroom-train.png: the fourth step's Train panel a while after Start training,
both loss plots in view without scrolling.

    .venv/bin/python docs/make_classroom_screenshots.py [--all-steps DIR]

It needs no display: Qt's offscreen platform is given a 1280 x 720 screen. It writes both screenshots;
--all-steps also saves every step of the lesson in DIR (step-1.png ... step-6.png), to look over.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from make_screenshots import OUT, settle

SCREEN = {"screens": [{"name": "classroom", "x": 0, "y": 0, "width": 1280, "height": 720, "logicalDpi": 96,
                       "logicalBaseDpi": 96, "dpr": 1}]}
SHOWN_STEP = 2  # the third step: the model guesses
TRAIN_STEP = 3  # the fourth: watching it learn
EVALUATIONS = 6  # the validation points drawn before the Train panel's screenshot


def screen_config() -> str:
    """Qt's offscreen platform with one 1280 x 720 screen (its own is 800 x 800)."""
    path = Path(tempfile.mkdtemp(prefix="mlm-screen-")) / "screen.json"
    path.write_text(json.dumps(SCREEN), encoding="utf-8")
    return f"offscreen:configfile={path}"


def wait_for(app, ready, seconds: float = 120.0) -> None:
    for _ in range(int(seconds / 0.2)):
        if ready():
            return
        settle(app, 0.2)
    raise TimeoutError("the window did not get there in time")


def show_step(app, window, index: int) -> None:
    """Lesson step `index`, waiting for what it shows: the demo model's answers, the masked sentence."""
    window.lesson.go(index)
    step = window.lesson.step
    if step.panel == "probe":
        view = window.probe.fill if step.tab == "fill" else window.probe.attention
        wait_for(app, lambda: bool(window.probe.context.models) and not view.computation.busy)
    elif step.panel == "masking":
        wait_for(app, lambda: window.masking.preview is not None)
    settle(app, 1.5)


def save_training(app, window, path: Path) -> None:
    """The training step after Start training, once the curves have a few validation points; then Stop."""
    show_step(app, window, TRAIN_STEP)
    window.lesson.action_button.click()
    wait_for(app, lambda: len(window.train.curves.live["val_loss"]) >= EVALUATIONS, seconds=600)
    settle(app, 1.5)
    window.grab().save(str(path))
    print(f"{path} ({window.width()} x {window.height()})")
    window.train.stop()
    wait_for(app, lambda: window.train.task is None)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all-steps", type=Path, help="also save every step of the lesson in this folder")
    args = parser.parse_args()
    os.environ["QT_QPA_PLATFORM"] = screen_config()
    from PySide6.QtWidgets import QApplication

    from workbench.gui.main_window import MainWindow
    from workbench.jobs.demo_model import find_demo_run

    app = QApplication(sys.argv[:1])
    window = MainWindow(Path(tempfile.mkdtemp(prefix="mlm-classroom-home-")))
    window.show()
    wait_for(app, lambda: find_demo_run(window.state.store) is not None)  # recorded after the first paint
    window.classroom.set_on(True)
    settle(app, 1)
    if args.all_steps:
        args.all_steps.mkdir(parents=True, exist_ok=True)
        for index in range(6):
            show_step(app, window, index)
            window.grab().save(str(args.all_steps / f"step-{index + 1}.png"))
    show_step(app, window, SHOWN_STEP)
    path = OUT / "classroom.png"
    window.grab().save(str(path))
    print(f"{path} ({window.width()} x {window.height()})")
    save_training(app, window, OUT / "classroom-train.png")
    window.classroom.set_on(False)
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
