"""What the start page decides (no Qt): a fresh home, the model "Ask a model" opens, and the Probe panel's order,
on a real store with runs recorded as the jobs record them (the demo: an `imported` run marked `demo`)."""

from __future__ import annotations

from pathlib import Path

from workbench.store.runstore import RunStore
from workbench.views.probe_views import probe_runs
from workbench.views.start import is_fresh_home, model_to_ask


def _run(store: RunStore, name: str, kind: str, demo: bool = False, checkpoint: bool = True):
    run = store.create_run(name, kind, {"demo": True} if demo else {}, None, None)
    if checkpoint:
        store.add_checkpoint(run.id, 0, f"/x/{run.id}", "0" * 64, 1)
    return store.set_status(run.id, "completed")


def test_a_home_is_fresh_until_the_user_adds_something(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "db.sqlite") as store:
        assert is_fresh_home(store)
        _run(store, "demo", "imported", demo=True)
        store.add_corpus(name="sample", paths=["/x"], options={}, content_hash="0", stats={}, problems=[], scan=None)
        assert is_fresh_home(store)  # only what the workbench brings
        store.add_corpus(name="mine", paths=["/y"], options={}, content_hash="1", stats={}, problems=[], scan=None)
        assert not is_fresh_home(store)
    with RunStore.open(tmp_path / "other.sqlite") as store:
        _run(store, "first", "pretrain", checkpoint=False)  # a run of the user's, even one not trained yet
        assert not is_fresh_home(store)


def test_ask_opens_the_newest_imported_model_else_the_demo(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "db.sqlite") as store:
        assert model_to_ask(store) is None  # the demo is not recorded yet
        demo = _run(store, "demo", "imported", demo=True)
        _run(store, "trained", "pretrain")
        assert model_to_ask(store).id == demo.id  # a run trained here is not what "ask a model" offers
        _run(store, "broken", "imported", checkpoint=False)
        bert = _run(store, "bert", "imported")
        assert model_to_ask(store).id == bert.id


def test_the_probe_panel_lists_the_demo_last(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "db.sqlite") as store:
        _run(store, "older", "pretrain")
        _run(store, "demo", "imported", demo=True)
        _run(store, "newer", "imported")
        assert [run.name for run in probe_runs(store)] == ["newer", "older", "demo"]
