"""Every panel fits a 1280 x 720 screen (issue 15 item 13): the window can be that small, so nothing is cut off at
the screen's edge (a panel wider than the window forced the window to 1,339 px, cutting off the right side)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QApplication

from workbench.gui.main_window import PANELS, MainWindow

SCREEN = (1280, 720)


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
