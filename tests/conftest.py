"""Shared test set-up: no display needed, every test gets its own home folder, ../shared data is optional."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Qt aborts without a display; offscreen needs none (see shared/QT-NOTES.md).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

try:  # QSettings of GUI tests go to a test location, never the user's real config
    from PySide6.QtCore import QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
except ImportError:
    pass

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh home folder, also exported as MLM_WORKBENCH_HOME so nothing touches the user's own."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("MLM_WORKBENCH_HOME", str(folder))
    return folder


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is not present")
    return SHARED
