"""The home folder: where everything the app writes lives (database, tokenizers, caches, runs).

Chosen in this order: the `--home` option, the `MLM_WORKBENCH_HOME` environment variable, then the
platform's user-data folder (platformdirs), so a user can keep several independent workbenches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

HOME_ENV = "MLM_WORKBENCH_HOME"
APP_NAME = "mlm-workbench"


PRIVATE_UMASK = 0o077  # files 600, folders 700


def resolve_home(cli_home: str | os.PathLike | None = None) -> Path:
    """Return the home folder (created if missing, and private: 700): `--home` > $MLM_WORKBENCH_HOME > user
    data dir."""
    chosen = cli_home or os.environ.get(HOME_ENV) or platformdirs.user_data_dir(APP_NAME)
    home = Path(chosen).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if home.stat().st_mode & 0o777 != 0o700:
        try:
            home.chmod(0o700)
        except OSError:  # a read-only disk, or another user's folder: it can still be read
            pass
    return home


def write_privately() -> None:
    """Everything this process writes from now on is readable by its user alone (600 files, 700 folders): the
    database, checkpoints, training states and tokenizers were world-readable, the weights not. The CLI and
    the window call it once at start; their child processes inherit it."""
    os.umask(PRIVATE_UMASK)


@dataclass(frozen=True)
class HomeLayout:
    """Where each kind of file lives under the home folder."""

    home: Path

    @property
    def db_path(self) -> Path:
        return self.home / "workbench.db"

    @property
    def tokenizers_dir(self) -> Path:
        return self.home / "tokenizers"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def log_path(self) -> Path:
        return self.home / "workbench.log"

    def run_dir(self, run_id: int) -> Path:
        return self.runs_dir / f"run-{run_id:05d}"

    def tokenizer_dir(self, tokenizer_id: int) -> Path:
        return self.tokenizers_dir / f"tokenizer-{tokenizer_id:05d}"


def resources_dir() -> Path:
    """The bundled resources folder (sample corpus, cloze suite), next to the package in a checkout."""
    return Path(__file__).resolve().parent.parent / "resources"
