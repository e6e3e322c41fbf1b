"""Record the bundled demo model (`workbench.jobs.demo_model`) in a home: a completed `imported` run with one
checkpoint per shipped step, made once, on the first use of a home (the window's start, `probe demo ...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from workbench.core.hf_import import HFImportError, convert_state_dict, read_weights
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.jobs.demo_model import DEMO_RUN_NAME, HISTORY_FILE, demo_model_dir, find_demo_run, read_history
from workbench.jobs.errors import UserError
from workbench.jobs.interop import free_name, imported_config, read_folder, record_imported
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import RunRecord, StoreError


def _checkpoints(folder: Path, model: BertForMaskedLM, family: str,
                 history: list[dict]) -> Iterator[tuple[int, BertForMaskedLM, dict]]:
    """Each shipped step's weights loaded into `model` in turn (one model in memory, not one per step)."""
    for entry in history:
        try:
            weights = convert_state_dict(family, read_weights(folder / entry["file"]), model)
        except HFImportError as error:
            raise UserError(f"the demo model's checkpoint at step {entry['step']}: {error}") from None
        model.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)  # the decoder is tied
        yield entry["step"], model, entry["metrics"]


def register_demo_run(ws: Workspace, folder: Path) -> RunRecord:
    """Record the demo model shipped in `folder` as a new read-only run (see the module's docstring)."""
    history = read_history(folder)
    imported, tokenizer = read_folder(folder)
    config = {**imported_config(folder, imported, tokenizer), "demo": True,
              "steps": [entry["step"] for entry in history]}
    name = free_name(ws, DEMO_RUN_NAME)  # a run of the user's may have the name already
    return record_imported(ws, name, config, tokenizer,
                           _checkpoints(folder, imported.model, imported.family, history))


def ensure_demo_run(ws: Workspace, folder: Path | None = None) -> RunRecord | None:
    """The home's demo run, recorded on first use; None where it cannot be (a read-only home, or an
    installation without the demo model's files)."""
    existing = find_demo_run(ws.store)
    folder = folder or demo_model_dir()
    if existing is not None or ws.read_only_reason or not (folder / HISTORY_FILE).is_file():
        return existing
    try:
        return register_demo_run(ws, folder)
    except StoreError:  # another process or thread recorded it at the same moment: use theirs
        existing = find_demo_run(ws.store)
        if existing is None:
            raise
        return existing
