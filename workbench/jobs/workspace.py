"""A workspace: the home folder's layout plus its run store, opened once per process (or per worker thread).

Opening one also turns runs left `running` by a dead process into `interrupted`, so they can be resumed; a home
that cannot be written is opened read-only (its runs can be listed and probed, training it is refused).
`in_workspace` is how a worker thread or a child process reaches the store: SQLite connections belong to the
thread that opened them, so each worker opens its own workspace for the length of one call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Concatenate, ParamSpec, TypeVar

from workbench.core.storage import writability_problem
from workbench.jobs.errors import UserError
from workbench.paths import HomeLayout, resolve_home
from workbench.store.runstore import RunStore

P = ParamSpec("P")
T = TypeVar("T")


class Workspace:
    """Everything a job needs to find files and records: `layout` (paths) and `store` (database)."""

    def __init__(self, home: Path) -> None:
        self.layout = HomeLayout(home)
        # A home that cannot be written (a read-only disk) is still read: runs can be listed, compared, probed.
        self.read_only_reason = writability_problem(home)
        self.store = RunStore.open(self.layout.db_path, read_only=self.read_only_reason is not None)
        self.interrupted_runs = [] if self.read_only_reason else self.store.mark_interrupted()

    @classmethod
    def open(cls, cli_home: str | None = None) -> "Workspace":
        return cls(resolve_home(cli_home))

    @property
    def home(self) -> Path:
        return self.layout.home

    def check_writable(self) -> None:
        """Refuse to start a job when the home or its runs/ folder cannot be written (a read-only disk, a full
        one, another user's folder): found before training starts, not at its first checkpoint."""
        for folder in (self.home, self.layout.runs_dir):
            problem = self.read_only_reason if folder == self.home else writability_problem(folder)
            if problem:
                raise UserError(f"{folder} cannot be written ({problem}); training saves its checkpoints there, "
                                "so choose a home that can (--home DIR)")

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
