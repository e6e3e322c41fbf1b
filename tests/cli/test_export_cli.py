"""`export RUN[:STEP] --format hf --out DIR` end to end: the folder and the "verified" line (text and --json), a
chosen step, and bad input (an unknown run, a step without a checkpoint, an --out that is not empty or is a file,
a failed check) each exit 2 with one line and leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hf_export_runs import make_pretrained

from workbench.cli.main import main
from workbench.jobs import export
from workbench.jobs.workspace import Workspace

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export-cli")
    with Workspace(root / "home") as ws:
        make_pretrained(ws, root)
    return root / "home"


def run_cli(capsys: pytest.CaptureFixture, home: Path, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--home", str(home), *args])
    except SystemExit as exited:  # argparse's refusals
        code = exited.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_export_writes_the_folder_and_says_it_verified_it(home: Path, tmp_path: Path, capsys) -> None:
    code, out, err = run_cli(capsys, home, "export", "wp", "--format", "hf", "--out", str(tmp_path / "wp"))
    assert code == 0, err
    assert "as BertForMaskedLM" in out and "model.safetensors" in out
    assert "verified: max logit difference" in out and "identical ids on 12 texts" in out
    assert {p.name for p in (tmp_path / "wp").iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    code, out, err = run_cli(capsys, home, "export", "bpe:3", "--out", str(tmp_path / "new" / "bpe"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["step"], report["architecture"], report["format"]) == (3, "RobertaForMaskedLM", "hf")
    assert report["verified"] <= 1e-4 and report["verified_text"].startswith("verified: max logit difference")
    assert report["files"]["model.safetensors"] == (tmp_path / "new" / "bpe" / "model.safetensors").stat().st_size
    assert any(note.startswith("positions:") for note in report["notes"])


def test_an_empty_out_folder_is_used(home: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "empty").mkdir()
    assert run_cli(capsys, home, "export", "wp", "--out", str(tmp_path / "empty"))[0] == 0
    assert (tmp_path / "empty" / "config.json").is_file()


BAD = {"unknown run": (["export", "nope"], "no run 'nope'"),
       "missing step": (["export", "wp:999"], "no checkpoint at step 999"),
       "not empty": (["export", "wp"], "is not empty"),
       "a file": (["export", "wp"], "is a file"),
       "unknown format": (["export", "wp", "--format", "gguf"], "invalid choice: 'gguf'")}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_exits_2_with_one_line(home: Path, tmp_path: Path, capsys, case: str) -> None:
    args, words = BAD[case]
    out_dir = tmp_path / "out"
    if case == "not empty":
        out_dir.mkdir()
        (out_dir / "keep.txt").write_text("mine")
    if case == "a file":
        out_dir.write_text("mine")
    code, out, err = run_cli(capsys, home, *args, "--out", str(out_dir))
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    left = [] if case in ("unknown run", "missing step", "unknown format") else ["out"]
    assert sorted(p.name for p in tmp_path.iterdir()) == left  # nothing written beside --out
    if case == "not empty":
        assert [p.name for p in out_dir.iterdir()] == ["keep.txt"]


def test_a_failed_check_exits_2_and_removes_what_was_written(home: Path, tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "TOLERANCE", -1.0)  # no difference can pass: the failure path, on real files
    code, out, err = run_cli(capsys, home, "export", "wp", "--out", str(tmp_path / "a" / "b" / "wp"))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "export check failed: max logit difference" in err and "nothing was written" in err
    assert list(tmp_path.iterdir()) == []  # the folders it made for --out are gone too


def test_onnx_export_with_int8_reports_sizes_verification_and_agreement(home: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    out_dir = tmp_path / "onnx"
    code, out, err = run_cli(capsys, home, "export", "wp", "--format", "onnx", "--quantize", "int8", "--out",
                             str(out_dir))
    assert code == 0, err
    assert "model.onnx" in out and "model.int8.onnx" in out and "verified: max logit difference" in out
    assert "int8: top-1 agreement with fp32" in out
    assert {"model.onnx", "model.int8.onnx", "tokenizer.json"} <= {p.name for p in out_dir.iterdir()}
    code, out, err = run_cli(capsys, home, "export", "wp", "--format", "hf", "--quantize", "int8", "--out",
                             str(tmp_path / "hf"))
    assert code == 2 and "--quantize applies to --format onnx only" in err and not (tmp_path / "hf").exists()
