"""The models in the user's Hugging Face cache that the importer could open: what the window's "Open a Hugging
Face model…" dialog lists, so that opening `bert-base-uncased` downloaded once by `transformers` takes two clicks.

The cache is `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
`~/.cache/huggingface/hub` (huggingface_hub's own order). Each model is `models--ORG--NAME/snapshots/COMMIT/`, a
folder of symlinks into `../../blobs/`; every snapshot holding a `config.json` is one entry. An entry the importer
would refuse (another architecture, no weights it reads, a config it cannot express) is listed too, with the
importer's reason, so a user looking for a downloaded model sees why it cannot be opened instead of wondering
whether the dialog looked in the right place. Nothing here loads weights: the parameter count comes from the
config (`core.model_config.count_parameters`, exact for the imported model), the size from the weight files the
importer would read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from workbench.core.hf_import import (
    CONFIG_FILE,
    FAMILIES,
    HFImportError,
    architecture_of,
    bert_config,
    read_hf_config,
    weight_files,
)
from workbench.core.model_config import count_parameters

MODELS_PREFIX = "models--"


@dataclass(frozen=True)
class CachedModel:
    """One snapshot of a cached model; `problem` is None when the importer can open it, else why not."""

    name: str  # ORG/NAME as on the Hub
    revision: str  # the snapshot's commit
    folder: Path  # the snapshot folder: what `jobs.interop.import_model` takes
    architecture: str
    weights_bytes: int | None  # of the files the importer would read, their symlinks followed into the blobs
    parameters: int | None
    problem: str | None = None

    @property
    def openable(self) -> bool:
        return self.problem is None


def hub_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Where huggingface_hub keeps downloaded models, from the same variables it reads."""
    hub = environ.get("HF_HUB_CACHE") or environ.get("HUGGINGFACE_HUB_CACHE")
    if hub:
        return Path(hub).expanduser()
    home = environ.get("HF_HOME") or str(Path(environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface")
    return Path(home).expanduser() / "hub"


def list_cached_models(hub: Path | None = None) -> list[CachedModel]:
    """Every snapshot with a config.json in the cache: the openable ones first, each group by name."""
    hub = hub_cache_dir() if hub is None else Path(hub)
    entries = [describe_snapshot(_repo_name(repo), snapshot)
               for repo in _children(hub) if repo.name.startswith(MODELS_PREFIX)
               for snapshot in _children(repo / "snapshots") if (snapshot / CONFIG_FILE).is_file()]
    return sorted(entries, key=lambda e: (not e.openable, e.name.lower(), e.revision))


def describe_snapshot(name: str, folder: Path) -> CachedModel:
    """What the dialog shows of one snapshot: its architecture, parameters and weights' size, or the line the
    importer would refuse it with (the folder's path left out: the dialog names the model)."""
    try:
        architecture, hf_config = read_hf_config(folder)
        parameters = count_parameters(bert_config(FAMILIES[architecture], hf_config))
        size = sum(path.stat().st_size for path in weight_files(folder))
    except HFImportError as error:
        problem = str(error).replace(f"{folder}{os.sep}", "").replace(str(folder), "the snapshot")
        return CachedModel(name, folder.name, folder, _architecture_named(folder), _weights_bytes(folder), None,
                           problem)
    return CachedModel(name, folder.name, folder, architecture, size, parameters)


def _architecture_named(folder: Path) -> str:
    """The architecture a refused snapshot's config names, or `?` when it names none readable."""
    try:
        hf_config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "?"
    return architecture_of(hf_config) if isinstance(hf_config, dict) else "?"


def _weights_bytes(folder: Path) -> int | None:
    """The weight files' size for a snapshot the importer refuses, whatever their format; None when it has none."""
    files = [p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin", ".h5", ".msgpack", ".onnx")
             and p.is_file()]  # is_file follows the symlink: a missing blob (a download cut short) counts not
    return sum(p.stat().st_size for p in files) if files else None


def _repo_name(repo: Path) -> str:
    """`models--google-bert--bert-base-uncased` -> `google-bert/bert-base-uncased` (names hold no `--`)."""
    return "/".join(repo.name[len(MODELS_PREFIX):].split("--"))


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except OSError:  # no cache (nothing downloaded yet) or one we may not read
        return []
