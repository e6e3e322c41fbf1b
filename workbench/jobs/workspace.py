"""A workspace: the home folder's layout plus its run store, opened once per process (or per worker thread).

Opening one also turns runs left `running` by a dead process into `interrupted`, so they can be resumed.
`in_workspace` is how a worker thread or a child process reaches the store: SQLite connections belong to the
thread that opened them, so each worker opens its own workspace for the length of one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Concatenate, ParamSpec, TypeVar

from workbench.paths import HomeLayout, resolve_home
from workbench.store.runstore import RunStore

P = ParamSpec("P")
T = TypeVar("T")


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


def in_workspace(home: Path, fn: Callable[Concatenate[Workspace, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(ws, *args, **kwargs)` in a workspace of its own at `home`, closed when `fn` returns or raises."""
    with Workspace(home) as ws:
        return fn(ws, *args, **kwargs)


def mark_dead_runs_interrupted(ws: Workspace) -> list[int]:
    """Runs left running or paused by a process that died become `interrupted` (resumable); their ids."""
    return ws.store.mark_interrupted()
