"""Every test here drives real widgets (pytest-qt): marked `gui`, so `-m "not gui"` runs the rest alone.
The Probe panel's tests share `trained_home` (a tiny trained run, built once per module) and `probe_panel`; the
main window's, `window` (shown, on a fresh home)."""

from __future__ import annotations

from pathlib import Path

import pytest
from probe_harness import RUN, open_panel
from tiny_probe_run import make_tiny_run

from workbench.gui.gui_gc import collect_garbage_on_gui_thread
from workbench.gui.main_window import MainWindow

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.gui)


@pytest.fixture(scope="session", autouse=True)
def _garbage_collected_on_the_gui_thread(qapp) -> None:
    collect_garbage_on_gui_thread()  # as the app does: a worker thread that collects can deadlock the GUI


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("probe-home"), RUN)


@pytest.fixture
def probe_panel(qtbot, trained_home: Path):
    yield from open_panel(qtbot, trained_home)


@pytest.fixture
def window(qtbot, home: Path):
    window = MainWindow(home)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.confirm_stop_running = lambda: True  # teardown of a failed test must not wait on a modal question
    window.close()
    window.deleteLater()
