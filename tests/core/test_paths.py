"""The home folder: --home beats $MLM_WORKBENCH_HOME beats the platform's user-data folder."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from workbench.paths import HOME_ENV, HomeLayout, resolve_home


def test_cli_home_wins_over_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home(tmp_path / "from-cli") == (tmp_path / "from-cli").resolve()
    assert (tmp_path / "from-cli").is_dir()


def test_environment_wins_over_platform_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "from-env"))
    assert resolve_home() == (tmp_path / "from-env").resolve()


def test_platform_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda app: str(tmp_path / "platform" / app))
    assert resolve_home() == (tmp_path / "platform" / "mlm-workbench").resolve()


def test_layout_keeps_everything_under_home(tmp_path: Path) -> None:
    layout = HomeLayout(tmp_path)
    for path in (layout.db_path, layout.tokenizers_dir, layout.cache_dir, layout.runs_dir, layout.run_dir(3)):
        assert tmp_path in path.parents
