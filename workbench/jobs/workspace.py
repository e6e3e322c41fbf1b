"""A workspace: the home folder's layout plus its run store, opened once per process.

Opening one also turns runs left `running` by a dead process into `interrupted`, so they can be resumed.
"""

from __future__ import annotations

from pathlib import Path

from workbench.paths import HomeLayout, resolve_home
from workbench.store.runstore import RunStore


class Workspace:
    """Everything a job needs to find files and records: `layout` (paths) and `store` (database)."""

    def __init__(self, home: Path) -> None:
        self.layout = HomeLayout(home)
        self.store = RunStore.open(self.layout.db_path)
        self.interrupted_runs = self.store.mark_interrupted()

    @classmethod
    def open(cls, cli_home: str | None = None) -> "Workspace":
        return cls(resolve_home(cli_home))

    @property
    def home(self) -> Path:
        return self.layout.home

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
