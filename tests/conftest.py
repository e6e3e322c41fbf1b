"""Shared test set-up: no display needed, every test gets its own home folder, ../shared data is optional."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Qt aborts without a display; offscreen needs none (see shared/QT-NOTES.md).
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# QSettings of GUI tests go to a throw-away location, never the user's real config
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mlm-workbench-test-config-")
try:
    from PySide6.QtCore import QSettings, QStandardPaths

    QStandardPaths.setTestModeEnabled(True)
except ImportError:
    QSettings = None


@pytest.fixture(autouse=True)
def fresh_settings() -> None:
    """Every test starts with what a first start sees: no remembered window state or choices."""
    if QSettings is not None:
        QSettings("mlm-workbench", "mlm-workbench").clear()

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


@pytest.fixture
def one_torch_thread():
    """One torch thread while a test trains: the tests share a few cores, and more threads only hand work off."""
    import torch  # here, not at the top: most tests never load torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
