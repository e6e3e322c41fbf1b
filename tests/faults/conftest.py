"""The fault suite: a real tiny run is trained once, and each test damages its own copy of that home (flipped
bytes, a full disk, a read-only mount, a garbage database) and checks the one-line answer, the exit code and
what the database and the files hold afterwards. Every test here is marked `faults`."""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/tiny_probe_run.py
from tiny_probe_run import make_tiny_run  # noqa: E402

from workbench.cli.main import main  # noqa: E402

HERE = Path(__file__).parent
RUN = "tiny"  # 20 steps, checkpoints at steps 10 and 20, evaluations at 10 and 20


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.fspath).parents:
            item.add_marker(pytest.mark.faults)


@pytest.fixture(scope="session")
def template_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_run(tmp_path_factory.mktemp("faults-template") / "home", RUN)


def copy_home(template: Path, target: Path) -> Path:
    """A copy of `template` at `target` whose recorded paths (checkpoints, tokenizers, corpus files) point into
    the copy, so damaging the copy never touches the template."""
    shutil.copytree(template, target)
    with sqlite3.connect(target / "workbench.db") as db:
        for table, column in (("checkpoints", "path"), ("tokenizers", "path"), ("corpora", "paths"),
                              ("corpora", "scan")):
            db.execute(f"UPDATE {table} SET {column} = replace({column}, ?, ?)", (str(template), str(target)))
    return target


@pytest.fixture
def run_home(template_home: Path, tmp_path: Path) -> Path:
    return copy_home(template_home, tmp_path / "home")


def cli(capsys: pytest.CaptureFixture, home: Path, *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit code, stdout, stderr)."""
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str) -> str:
    """The one error line a refused command ends with (after any progress output); fails on a traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.strip().splitlines() if line.startswith("mlm-workbench: error: ")]
    assert len(lines) == 1 and err.strip().endswith(lines[0]), err
    return lines[0]


def db_rows(home: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(home / "workbench.db") as db:
        return db.execute(sql, params).fetchall()


def flip_bytes(path: Path, count: int = 256) -> None:
    """Invert `count` bytes in the middle of the file (past any header), as a failing disk or copy would."""
    data = bytearray(path.read_bytes())
    start = len(data) // 2
    for i in range(start, min(start + count, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
