"""`import DIR` end to end: a tiny Hugging Face BERT / RoBERTa / DistilBERT becomes an `imported` run that
`probe` answers on and `finetune --from` starts from; each bad folder exits 2 with one line and leaves no run
row or folder behind."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from hf_folders import BAD_FOLDERS, make_bad_folder, make_hf_folder

from workbench.cli.main import main
from workbench.jobs.errors import UserError
from workbench.jobs.interop import import_model
from workbench.jobs.workspace import Workspace

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    # RoBERTa from its vocabulary files, the others from tokenizer.json: both tokenizer paths end to end
    return {family: (make_hf_folder(root / family, family, tokenizer_json=family != "roberta"), root / family)[1]
            for family in ("bert", "roberta", "distilbert")}


def run_cli(capsys: pytest.CaptureFixture, home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert"])
def test_import_then_probe(sources, tmp_path: Path, capsys, family: str) -> None:
    home = tmp_path / "home"
    code, out, err = run_cli(capsys, home, "import", str(sources[family]), "--name", f"hf-{family}", "--json")
    assert code == 0, err
    run = json.loads(out)
    assert (run["kind"], run["status"], run["name"]) == ("imported", "completed", f"hf-{family}")
    assert run["config"]["source"] == str(sources[family].resolve()) and len(run["config"]["sha256"]) == 64
    assert [c["step"] for c in run["checkpoints"]] == [0]
    mask = "<mask>" if family == "roberta" else "[MASK]"
    code, out, err = run_cli(capsys, home, "probe", f"hf-{family}", f"The cat sat on the {mask}.", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert len(answer["masks"]) == 1 and len(answer["masks"][0]["predictions"]) == 5
    code, out, err = run_cli(capsys, home, "runs", "list", "--kind", "imported", "--json")
    assert [r["name"] for r in json.loads(out)] == [f"hf-{family}"]


def test_importing_a_folder_twice_gets_a_free_name(sources, tmp_path: Path) -> None:
    with Workspace(tmp_path / "home") as ws:
        names = [import_model(ws, sources["bert"]).name for _ in range(2)]
    assert names == ["bert", "bert-2"]


def test_a_folder_in_the_hugging_face_cache_is_named_after_its_model(sources, tmp_path: Path) -> None:
    snapshot = tmp_path / "hub" / "models--google--tiny-bert" / "snapshots" / "0123abcd"
    shutil.copytree(sources["bert"], snapshot)
    with Workspace(tmp_path / "home") as ws:
        assert import_model(ws, snapshot).name == "tiny-bert"


def test_finetune_from_an_imported_run(sources, tmp_path: Path, capsys) -> None:
    home = tmp_path / "home"
    assert run_cli(capsys, home, "import", str(sources["bert"]), "--name", "base")[0] == 0
    rng = random.Random(0)
    data = tmp_path / "pets.tsv"
    rows = ["sentence\tlabel"] + [f"the {rng.choice(['cat', 'dog'])} sat on the mat\t{i % 2}" for i in range(40)]
    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, _, err = run_cli(capsys, home, "finetune", "--task", "classify", "--train", str(data), "--epochs", "1",
                             "--batch-size", "8", "--device", "cpu", "--from", "base", "--name", "ft", "--json")
    assert code == 0, err
    with Workspace(home) as ws:
        run = ws.store.get_run("ft")
        assert (run.kind, run.status, run.parent_run_id) == ("finetune", "completed", ws.store.get_run("base").id)


@pytest.mark.parametrize("case", BAD_FOLDERS)
def test_bad_folders_exit_2_and_leave_nothing(sources, tmp_path: Path, capsys, case: str) -> None:
    folder = make_bad_folder(sources["bert"], tmp_path, case)
    home = tmp_path / "home"
    code, out, err = run_cli(capsys, home, "import", str(folder))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and BAD_FOLDERS[case] in " ".join(err.split()), err
    with Workspace(home) as ws:
        assert ws.store.list_runs() == []
        with pytest.raises(UserError):
            import_model(ws, folder)
        assert ws.store.list_runs() == []
    assert not (home / "runs").exists() or not any((home / "runs").iterdir())
