"""Every panel fits a 1280 x 720 screen (issue 15 item 13): the window can be that small, so nothing is cut off at
the screen's edge (a panel wider than the window forced the window to 1,339 px, cutting off the right side)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QStandardPaths, Qt
from PySide6.QtWidgets import QApplication

from workbench.gui.live_plots import PLOTS
from workbench.gui.main_window import PANELS, MainWindow
from workbench.views.glossary import words
from workbench.views.lesson import LESSON

SCREEN = (1280, 720)
PLOTS_TERMS = {key: term for key, _, _, term in PLOTS}


def test_every_panel_fits_1280_by_720(qtbot, home: Path) -> None:
    QStandardPaths.setTestModeEnabled(True)
    window = MainWindow(home)
    qtbot.addWidget(window)
    window.resize(*SCREEN)
    window.show()
    qtbot.waitExposed(window)
    for index, (title, *_) in enumerate(PANELS):
        window.show_panel(index)
        panel = window.panel(index)
        QApplication.processEvents()
        hint, room = panel.minimumSizeHint(), window.scroll.viewport().size()  # the panels scroll only beyond it
        assert hint.width() <= room.width() and hint.height() <= room.height(), \
            f"{title}: needs {hint.width()} x {hint.height()}, has {room.width()} x {room.height()}"
        assert window.width() <= SCREEN[0] and window.height() <= SCREEN[1], title
    window.runner.shutdown()


def test_the_lesson_fits_1280_by_720_in_classroom_mode(qtbot, home: Path) -> None:
    """Classroom mode's large type and the lesson's strip: each step's panel is no wider than the window leaves it
    (the panels may scroll up and down, never sideways) and the window stays on the screen."""
    window = MainWindow(home)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.classroom.set_on(True)
    window.setWindowState(Qt.WindowState.WindowNoState)  # full screen on a 1280 x 720 screen, which this is not
    window.resize(*SCREEN)
    for index, step in enumerate(LESSON):
        window.lesson.go(index)
        qtbot.wait(200)  # the panel lays itself out for the large type once shown
        panel, room = window.stack.currentWidget(), window.scroll.viewport().size()
        hint = panel.minimumSizeHint()
        assert hint.width() <= room.width(), f"step {index + 1} ({step.panel}): needs {hint.width()}, has {room.width()}"
        assert window.width() <= SCREEN[0] and window.height() <= SCREEN[1], step.title
        assert window.lesson.isVisible() and window.lesson.height() < SCREEN[1] / 3  # the panel keeps its room
    window.classroom.set_on(False)
    window.runner.shutdown()


def assert_loss_plots_in_view(window: MainWindow) -> None:
    """The panel scrolls neither way, both loss plots (only they) lie inside the window's view and inside their
    canvas, and each title is whole (wrapped, not cut) and no wider than its plot."""
    curves, view = window.train.curves, window.scroll.viewport()
    assert window.scroll.verticalScrollBar().maximum() == 0 and window.scroll.horizontalScrollBar().maximum() == 0
    hint = window.train.minimumSizeHint()
    assert hint.width() <= view.width() and hint.height() <= view.height(), f"needs {hint}, has {view.size()}"
    room = QRect(view.mapTo(window, QPoint(0, 0)), view.size())
    canvas = curves.canvas
    for key, plot in curves.plots.items():
        assert plot.isVisible() == (key in ("train_loss", "val_loss")), key  # the loss plots at full height
        if not plot.isVisible():
            continue
        scene = plot.parentItem().mapRectToScene(plot.geometry()).toRect()
        assert canvas.rect().contains(scene), f"{key}: {scene} is cut off the plots' {canvas.rect()}"
        top_left = canvas.mapTo(window, canvas.mapFromScene(scene.topLeft()))
        assert room.contains(QRect(top_left, scene.size())), f"{key} is below the fold"
        title = plot.titleLabel
        assert title.text == words(PLOTS_TERMS[key], True)  # the whole plain words, wrapped where long
        assert title.item.boundingRect().width() <= plot.vb.width() + 1, key
    assert curves.plots["train_loss"].titleLabel.item.boundingRect().height() > 1.5 * canvas.fontMetrics().height()


def test_classroom_mode_shows_the_loss_plots_without_scrolling_at_1280_by_720(qtbot, home: Path) -> None:
    """The lesson's training step at 1280 x 720 in large type: the Train panel does not scroll (it scrolled as far as
    the tallest panel built, and its plots asked for 600 px), both loss plots lie inside the window's view, and each
    plain-language title is whole (wrapped, not cut) and no wider than its plot; also with a run's lines above them."""
    window = MainWindow(home)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.show_panel_named("finetune")  # the tallest panel, built before the Train panel
    window.classroom.set_on(True)
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(*SCREEN)
    window.lesson.go(3)  # watching it learn: the Train panel
    qtbot.wait(300)
    assert window.current_panel_name() == "train"
    assert_loss_plots_in_view(window)
    train = window.train  # the lines a run writes above the plots, in plain words (they widened the panel)
    train.controls.say("Training: 3,000 steps on CPU (2 cores, 1 thread), fp32")
    train.detail_label.setText("step 600 of 3,000 · 5.1k tokens/s · 3 min 21 s so far · about 16 min 09 s left")
    train.eval_label.setText(f"At step 600: {train._scores(4.456, 4.812, 0.123)}")
    qtbot.wait(300)
    assert_loss_plots_in_view(window)
    window.classroom.set_on(False)
    assert all(plot.isVisible() for plot in window.train.curves.plots.values())
    window.runner.shutdown()
