"""The bundled demo model (resources/demo_model/): the shipped files load, know the sample corpus' facts and stay
small; recorded in a home they are a read-only run with every shipped checkpoint; the build script is
deterministic (a short build, twice, writes the same bytes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.probing import fill_mask
from workbench.jobs.demo_build import SPEC, build_demo_model
from workbench.jobs.demo_model import DEMO_RUN_NAME, demo_model_dir, find_demo_run, read_history
from workbench.jobs.demo_register import ensure_demo_run
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import delete_run, get_run
from workbench.jobs.probe import load_probe_model, run_probe_suite
from workbench.jobs.workspace import Workspace
from workbench.paths import resources_dir

MAX_BYTES = 5_000_000


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo-home")
    with Workspace(home) as ws:
        assert ensure_demo_run(ws) is not None
    return home


def test_the_shipped_files_are_small_safetensors() -> None:
    files = [p for p in demo_model_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < MAX_BYTES
    weights = {p.relative_to(demo_model_dir()).as_posix() for p in files if p.suffix in (".safetensors", ".bin", ".pt")}
    history = read_history(demo_model_dir())
    assert weights == {entry["file"] for entry in history} and all(w.endswith(".safetensors") for w in weights)
    assert len(history) >= 4  # a handful of checkpoints, for the knowledge-over-checkpoints chart


def test_the_shipped_scores_are_what_the_model_scores(demo_home: Path) -> None:
    """checkpoints.json's precision@1 is the shipped weights' own, on the bundled cloze suite, as loaded."""
    with Workspace(demo_home) as ws:
        [(record, result)] = run_probe_suite(ws, DEMO_RUN_NAME, resources_dir() / "sample_cloze.tsv")
    shipped = read_history(demo_model_dir())[-1]["metrics"]["cloze_precision_at_1"]
    assert result.metrics["n_items"] == 68 and result.metrics["overall"]["precision_at_1"] == pytest.approx(shipped)


@pytest.mark.xfail(strict=True, reason="issue 15's bar, not reached yet: the shipped model (8,000 steps) scores "
                                       "precision@1 0.82 (56 of 68); see resources/README.md")
def test_it_scores_issue_15s_bar(demo_home: Path) -> None:
    with Workspace(demo_home) as ws:
        [(record, result)] = run_probe_suite(ws, DEMO_RUN_NAME, resources_dir() / "sample_cloze.tsv")
    assert result.metrics["overall"]["precision_at_1"] >= 0.9


def test_it_knows_where_lima_is(demo_home: Path) -> None:
    with Workspace(demo_home) as ws:
        probe = load_probe_model(ws, DEMO_RUN_NAME)
    [mask] = fill_mask(probe.model, probe.tokenizer, "lima is a city in [MASK].").masks
    assert mask.predictions[0].token == "peru"


def test_it_knows_what_the_animals_say(demo_home: Path) -> None:
    """What the shipped model has learned already: the animals' sounds of the corpus' plainest wording."""
    with Workspace(demo_home) as ws:
        probe = load_probe_model(ws, DEMO_RUN_NAME)
    for animal, sound in (("cow", "moo"), ("duck", "quack"), ("pig", "oink")):
        [mask] = fill_mask(probe.model, probe.tokenizer, f"the {animal} says [MASK].").masks
        assert mask.predictions[0].token == sound


def test_it_is_a_read_only_run_with_every_shipped_checkpoint(demo_home: Path) -> None:
    history = read_history(demo_model_dir())
    with Workspace(demo_home) as ws:
        run = find_demo_run(ws.store)
        assert (run.name, run.kind, run.status) == ("demo", "imported", "completed")
        checkpoints = ws.store.checkpoints(run.id)
        assert [c.step for c in checkpoints] == [entry["step"] for entry in history]
        assert [c.metrics for c in checkpoints] == [entry["metrics"] for entry in history]
        assert ensure_demo_run(ws).id == run.id  # recorded once
        with pytest.raises(UserError, match="read-only"):
            delete_run(ws, run.id)
        scores = [r.metrics["overall"]["precision_at_1"] for _, r in run_probe_suite(ws, run.id, all_checkpoints=True)]
        assert scores[0] < scores[-1]  # the model learned over its checkpoints


def test_a_fresh_home_finds_the_demo_by_name(tmp_path: Path) -> None:
    """`mlm-workbench probe demo ...` works in a new home: the name records the demo model on first use."""
    with Workspace(tmp_path) as ws:
        assert ws.store.list_runs() == []
        assert get_run(ws, "demo").id == find_demo_run(ws.store).id


def test_a_user_run_named_demo_keeps_its_name(tmp_path: Path) -> None:
    with Workspace(tmp_path) as ws:
        mine = ws.store.create_run("demo", "pretrain", {}, corpus_id=None, tokenizer_id=None)
        demo = ensure_demo_run(ws)
        assert demo.name == "demo-2" and get_run(ws, "demo").id == mine.id


def test_the_build_is_deterministic(tmp_path: Path) -> None:
    train = SPEC.train.replace(steps=6, warmup_steps=2, eval_every=3, checkpoint_every=3)
    spec = SPEC.replace(train=train)
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        build_demo_model(folder, spec, min_precision=0.0, say=lambda _: None)
    files = [sorted(p.relative_to(f) for p in f.rglob("*") if p.is_file()) for f in folders]
    assert files[0] == files[1] and len(files[0]) >= 8
    for name in files[0]:
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes(), name


def test_a_build_under_the_bar_writes_nothing(tmp_path: Path) -> None:
    spec = SPEC.replace(train=SPEC.train.replace(steps=2, warmup_steps=1, eval_every=1, checkpoint_every=1))
    with pytest.raises(UserError, match="under 0.9"):
        build_demo_model(tmp_path / "out", spec, say=lambda _: None)
    assert not (tmp_path / "out").exists()
