"""The Hugging Face cache listing on fake caches laid out as huggingface_hub lays them out (blobs, snapshot
folders of symlinks) with tiny real models: names, architectures, sizes through the symlinks, exact parameter
counts, the refused entries with the importer's reason, and where the cache is looked for."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hf_folders import cache_snapshot, make_hf_folder

from workbench.jobs.hf_cache import hub_cache_dir, list_cached_models
from workbench.jobs.interop import import_model
from workbench.jobs.workspace import Workspace

pytest.importorskip("transformers")
FAMILIES = {"bert": "BertForMaskedLM", "roberta": "RobertaForMaskedLM", "distilbert": "DistilBertForMaskedLM"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int]]:
    """Each family's tiny model folder and the parameter count `transformers` gives it."""
    root = tmp_path_factory.mktemp("hf")
    return {family: (root / family, make_hf_folder(root / family, family).num_parameters()) for family in FAMILIES}


def blob_bytes(snapshot: Path, *names: str) -> int:
    return sum((snapshot / name).resolve().stat().st_size for name in names)


def test_supported_models_are_listed_with_architecture_size_and_parameters(sources, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    snapshots = {family: cache_snapshot(hub, f"tiny-org/tiny-{family}", folder)
                 for family, (folder, _) in sources.items()}
    listed = list_cached_models(hub)
    assert [m.name for m in listed] == ["tiny-org/tiny-bert", "tiny-org/tiny-distilbert", "tiny-org/tiny-roberta"]
    for model in listed:
        family = model.name.removeprefix("tiny-org/tiny-")
        snapshot = snapshots[family]
        assert (snapshot / "model.safetensors").is_symlink()
        assert model.openable and model.problem is None
        assert (model.folder, model.revision, model.architecture) == (snapshot, snapshot.name, FAMILIES[family])
        assert model.weights_bytes == blob_bytes(snapshot, "model.safetensors") > 10_000
        assert model.parameters == sources[family][1]  # what transformers counts, the tied decoder once


def test_a_listed_snapshot_imports_through_its_symlinks(sources, tmp_path: Path) -> None:
    snapshot = cache_snapshot(tmp_path / "hub", "google/tiny-bert", sources["bert"][0])
    [model] = list_cached_models(tmp_path / "hub")
    with Workspace(tmp_path / "home") as ws:
        run = import_model(ws, model.folder)
    assert (run.name, run.kind, run.config["source"]) == ("tiny-bert", "imported", str(snapshot))


def test_refused_snapshots_come_last_with_the_importers_reason(sources, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    bert = sources["bert"][0]
    cache_snapshot(hub, "tiny-org/tiny-bert", bert)
    modern = cache_snapshot(hub, "albert/albert-base-v2", bert)
    config = json.loads((modern / "config.json").read_text())
    (modern / "config.json").unlink()  # a symlink: write a file in its place, leaving the blob alone
    (modern / "config.json").write_text(json.dumps({**config, "architectures": ["AlbertForMaskedLM"]}))
    only_h5 = tmp_path / "h5"
    shutil.copytree(bert, only_h5)
    (only_h5 / "model.safetensors").rename(only_h5 / "tf_model.h5")
    cache_snapshot(hub, "a-org/tf-only", only_h5)
    listed = list_cached_models(hub)
    assert [(m.name, m.openable) for m in listed] == [
        ("tiny-org/tiny-bert", True), ("a-org/tf-only", False), ("albert/albert-base-v2", False)]
    tf_only, modern_entry = listed[1:]
    assert modern_entry.architecture == "AlbertForMaskedLM" and modern_entry.parameters is None
    assert modern_entry.problem == ("config.json: architecture AlbertForMaskedLM is not supported; the supported "
                                    "ones are BertForMaskedLM, RobertaForMaskedLM, XLMRobertaForMaskedLM, "
                                    "CamembertForMaskedLM, DistilBertForMaskedLM, ModernBertForMaskedLM")
    assert modern_entry.weights_bytes == blob_bytes(modern, "model.safetensors")
    assert tf_only.architecture == "BertForMaskedLM"
    assert tf_only.problem.startswith("the snapshot has no weights: expected model.safetensors")
    assert tf_only.weights_bytes == blob_bytes(tf_only.folder, "tf_model.h5")


def test_what_is_not_a_model_snapshot_is_left_out(sources, tmp_path: Path) -> None:
    hub = tmp_path / "hub"
    cache_snapshot(hub, "tiny-org/tiny-bert", sources["bert"][0])
    cache_snapshot(hub, "tiny-org/tiny-bert", sources["bert"][0], revision="fedcba9876543210")
    (hub / "datasets--someone--corpus" / "snapshots" / "abc").mkdir(parents=True)
    (hub / "datasets--someone--corpus" / "snapshots" / "abc" / "config.json").write_text("{}")
    (hub / "models--x--gguf-only" / "snapshots" / "abc").mkdir(parents=True)  # no config.json
    (hub / ".locks").mkdir()
    (hub / "version.txt").write_text("1")
    listed = list_cached_models(hub)
    assert [(m.name, m.revision) for m in listed] == [("tiny-org/tiny-bert", "0123456789abcdef"),
                                                      ("tiny-org/tiny-bert", "fedcba9876543210")]
    assert list_cached_models(tmp_path / "nothing-downloaded") == []


def test_a_download_cut_short_has_no_weights(sources, tmp_path: Path) -> None:
    snapshot = cache_snapshot(tmp_path / "hub", "tiny-org/tiny-bert", sources["bert"][0])
    (snapshot / "model.safetensors").resolve().unlink()  # the symlink is there, its blob is not
    [model] = list_cached_models(tmp_path / "hub")
    assert not model.openable and model.weights_bytes is None and "has no weights" in model.problem


def test_the_cache_is_found_where_huggingface_hub_looks() -> None:
    home = Path.home()
    assert hub_cache_dir({}) == home / ".cache" / "huggingface" / "hub"
    assert hub_cache_dir({"XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/huggingface/hub")
    assert hub_cache_dir({"XDG_CACHE_HOME": "/xdg", "HF_HOME": "~/hf"}) == home / "hf" / "hub"
    assert hub_cache_dir({"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"}) == Path("/old")
    assert hub_cache_dir({"HF_HOME": "/hf", "HF_HUB_CACHE": "/hub", "HUGGINGFACE_HUB_CACHE": "/old"}) == Path("/hub")
