"""`mlm-workbench open FILE.mlmwb`: starts the window with the project (read before torch loads, as the plain window
is), refuses a file this version cannot read in one line before any window; `--check` prints what the file holds
and whether its corpus files are found, exit code 1 when one is missing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli

from workbench.cli.main import main
from workbench.jobs.corpora import add_corpus
from workbench.jobs.project import Setup, save_project
from workbench.jobs.project_file import ProbeTexts, ProjectSettings
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.masking import MaskingConfig

MINIMAL = '{"format": "mlm-workbench-project", "version": 1}'


@pytest.fixture
def lesson(tmp_path: Path) -> Path:
    corpus = tmp_path / "lesson" / "animals.txt"
    corpus.parent.mkdir()
    corpus.write_text("\n\n".join(generate_documents(30, seed=2)) + "\n", encoding="utf-8")
    settings = ProjectSettings(masking=MaskingConfig(mlm_probability=0.25), probe=ProbeTexts(fill_mask="a [MASK]."))
    with Workspace(tmp_path / "home-1") as ws:
        add_corpus(ws, [corpus], "animals")
        path, _ = save_project(ws, corpus.parent / "lesson.mlmwb", Setup("animals", None, settings))
    return path


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """What `run_app` was asked to open, instead of a window."""
    from workbench.gui import app

    calls: list[tuple] = []
    monkeypatch.setattr(app, "run_app", lambda home, quick_start, project: calls.append((home, project)) or 0)
    return calls


def test_open_starts_the_window_with_the_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 started: list[tuple]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("lesson.mlmwb").write_text(MINIMAL, encoding="utf-8")
    assert main(["open", "lesson.mlmwb", "--home", "H"]) == 0
    assert main(["--home", "H", "open", "lesson.mlmwb"]) == 0
    assert started == [("H", tmp_path / "lesson.mlmwb")] * 2  # the path made absolute


@pytest.mark.parametrize(("content", "args", "expected"), [
    (None, ["open", "missing.mlmwb"], "missing.mlmwb: cannot be read (No such file or directory)"),
    ('{"format": "mlm-workbench-project", "version": 2}', ["open", "p.mlmwb"], "newer MLM Workbench"),
    (MINIMAL, ["--quick-start", "open", "p.mlmwb"], "--quick-start and open each set up the window"),
])
def test_open_refuses_in_one_line_before_any_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys,
                                                    started: list[tuple], content: str | None, args: list[str],
                                                    expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        Path("p.mlmwb").write_text(content, encoding="utf-8")
    line = cli(capsys, tmp_path / "home", *args, code=2)
    assert expected in line and started == []


def test_open_reaches_the_window_before_torch_loads(tmp_path: Path) -> None:
    project = tmp_path / "lesson.mlmwb"
    project.write_text(MINIMAL, encoding="utf-8")
    code = ("import sys, workbench.gui.app as app, workbench.cli.main as cli; "
            "app.run_app = lambda home, quick_start, project: print('torch' in sys.modules, project) or 0; "
            f"sys.exit(cli.main(['open', {str(project)!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", str(project)]


def test_check_prints_what_the_project_holds(capsys, lesson: Path, tmp_path: Path, started: list[tuple]) -> None:
    out = cli(capsys, tmp_path / "home", "open", str(lesson), "--check")
    assert f"animals.txt: found at {lesson.parent / 'animals.txt'}" in out
    assert "masking: mlm_probability=0.25" in out and "fill_mask 'a [MASK].'" in out and started == []
    (lesson.parent / "animals.txt").unlink()
    assert main(["--home", str(tmp_path / "home"), "open", str(lesson), "--check"]) == 1
    assert f"animals.txt: MISSING (looked in {lesson.parent / 'animals.txt'})" in capsys.readouterr().out
    assert main(["--home", str(tmp_path / "home"), "open", str(lesson), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["files_ok"] is False and report["corpus"]["files"][0]["found"] is None
    assert report["masking"]["mlm_probability"] == 0.25 and report["probe"] == {"fill_mask": "a [MASK]."}
