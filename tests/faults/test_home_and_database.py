"""Issue 14 item 10, a home that cannot be written and a database that is not one. A read-only home is still
read (`runs list`, `probe`) and training it is refused before anything starts; a garbage database gives one
line and exit code 2, not a traceback. The read-only home is a genuine read-only bind mount where this machine
permits mounting (root), and the same condition injected (OSError(EROFS) on creating a file) where not."""

from __future__ import annotations

import errno
import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import RUN, cli, copy_home, one_error_line

READ_ONLY = "cannot be written (read-only file system); training saves its checkpoints there"


def check_read_only_home(home: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = cli(capsys, home, "runs", "list")
    assert code == 0 and RUN in out, err
    code, out, err = cli(capsys, home, "probe", RUN, "the [MASK] is here .")
    assert code == 0 and out, err
    for command in (("train", "--steps", "2"), ("resume", RUN, "--steps", "30")):
        code, _, err = cli(capsys, home, *command)
        assert code == 2 and READ_ONLY in one_error_line(err), err


@pytest.fixture
def read_only_mount(template_home: Path, tmp_path: Path) -> Path:
    home = copy_home(template_home, tmp_path / "home")
    view = tmp_path / "read-only"
    view.mkdir()
    bind = subprocess.run(["mount", "--bind", str(home), str(view)], capture_output=True)
    if bind.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bind.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True, capture_output=True)
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=True)


def test_a_read_only_mounted_home_is_read_but_not_trained(read_only_mount: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    check_read_only_home(read_only_mount, capsys)


def test_a_home_refusing_new_files_is_read_but_not_trained(run_home: Path, capsys: pytest.CaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.mkstemp

    def read_only(*args: object, dir: str | None = None, **kwargs: object) -> tuple[int, str]:
        if dir is not None and Path(dir).is_relative_to(run_home):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))
        return real(*args, dir=dir, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    check_read_only_home(run_home, capsys)


BAD_DATABASES = {
    "random bytes": lambda real: os.urandom(64 * 1024),
    "a text file": lambda real: b"not a database\n" * 100,
    "an SQLite header, then random bytes": lambda real: real[:100] + os.urandom(64 * 1024),
    "a database cut short": lambda real: real[: len(real) // 3],
}


@pytest.mark.parametrize("kind", BAD_DATABASES)
def test_a_garbage_database_gives_one_line(run_home: Path, capsys: pytest.CaptureFixture, kind: str) -> None:
    db = run_home / "workbench.db"
    db.write_bytes(BAD_DATABASES[kind](db.read_bytes()))
    code, _, err = cli(capsys, run_home, "runs", "list")
    assert code == 2, err
    line = one_error_line(err)
    assert f"{db} is not a readable workbench database" in line, line
