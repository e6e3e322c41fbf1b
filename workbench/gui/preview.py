"""Show one panel alone (Orange's WidgetPreview idea): `python -m workbench.gui.panels.<module>`."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from workbench.gui.gui_gc import collect_garbage_on_gui_thread
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner


def preview_panel(panel_class: type[QWidget]) -> None:
    """Open `panel_class(state, runner)` on $MLM_WORKBENCH_HOME (else a temporary home) and exit with the app."""
    app = QApplication.instance() or QApplication(sys.argv)
    collect_garbage_on_gui_thread()
    state = AppState(Path(os.environ.get("MLM_WORKBENCH_HOME") or tempfile.mkdtemp(prefix="mlm-workbench-")))
    runner = TaskRunner()
    panel = panel_class(state, runner)
    panel.setWindowTitle(f"{panel_class.__name__}: {state.home}")
    panel.resize(1100, 750)
    panel.show()
    code = app.exec()
    runner.shutdown()
    state.close()
    sys.exit(code)
