"""The layer boundaries hold: the core never imports Qt or SQL, the CLI never loads Qt (import-linter + a
subprocess check of what `import` really loads)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_and_core_do_not_load_qt() -> None:
    code = (
        "import sys, workbench.cli.main, workbench.jobs.pretrain; "
        "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_window_paints_before_torch_loads() -> None:
    """App start (issue 6): the main window's imports and the first panels (start page, Data) leave torch for after
    the first paint."""
    code = ("import sys, workbench.gui.main_window, workbench.gui.panels.start_panel, workbench.gui.panels.data_panel; "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_entry_point_opens_the_window_before_torch_loads() -> None:
    """`mlm-workbench` with no command (the launcher's command) reaches the window without the CLI's commands,
    whose modules import torch; the packaged app's smoke test times the same start (packaging/smoke.py)."""
    code = ("import sys, workbench.gui.app as app, workbench.cli.main as cli; "
            "app.run_app = lambda home, quick_start, project: print('torch' in sys.modules, home, quick_start) or 0; "
            "sys.exit(cli.main(['--home', 'H', '--quick-start']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "H", "True"]
