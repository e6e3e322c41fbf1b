"""What the Probe panel's GUI tests share: a panel on a tiny trained run, the engine's own model of that run,
and waiting for a view's background computation."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from PySide6.QtCore import QStandardPaths

from workbench.gui.panels.probe_panel import ProbePanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.probe import ProbeModel, load_probe_model
from workbench.jobs.workspace import Workspace

RUN = "gui-probe"
TIMEOUT = 20_000


def open_panel(qtbot, home: Path) -> Iterator[ProbePanel]:
    """A Probe panel on `home` once its model has loaded (the body of conftest's `probe_panel`)."""
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    probe = ProbePanel(state, runner)
    qtbot.addWidget(probe)
    probe.resize(1200, 800)
    qtbot.waitUntil(lambda: bool(probe.context.models), timeout=TIMEOUT)
    yield probe
    runner.shutdown()
    state.close()


def engine_model(home: Path, step: int | None = None) -> ProbeModel:
    with Workspace.open(str(home)) as ws:
        return load_probe_model(ws, RUN, step)


def settle(qtbot, computation) -> None:
    qtbot.waitUntil(lambda: not computation.busy, timeout=TIMEOUT)
