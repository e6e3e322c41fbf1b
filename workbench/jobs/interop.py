"""Import a Hugging Face masked-LM folder as a run of kind `imported`.

Everything is read and checked before anything is written: the model mapped onto the workbench's encoder, the
tokenizer built, their vocabularies compared. Only then is the run recorded, with its source folder, the sha256
of its weights and both configs, and its weights saved as the run's checkpoint at step 0 with the tokenizer in
the run's folder (`tokenizer_path` in the checkpoint's config, as pretraining runs name theirs). So probing,
scoring, attention, probe suites and `finetune --from` take it like a run trained here; a failure while
writing removes the run and its folder again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Iterable

from workbench.core.checkpoints import save_checkpoint
from workbench.core.hf_import import HFImportError, HFModel, load_hf_model
from workbench.core.hf_tokenizer import load_hf_tokenizer
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import RunRecord

TOKENIZER_DIR = "tokenizer"


def read_folder(folder: Path) -> tuple[HFModel, WorkbenchTokenizer]:
    try:
        imported = load_hf_model(folder)
        tokenizer = load_hf_tokenizer(folder)
    except HFImportError as error:
        raise UserError(str(error)) from None
    vocab = imported.model.config.vocab_size
    if tokenizer.vocab_size > vocab:
        raise UserError(f"{folder}: the tokenizer has {tokenizer.vocab_size} tokens but the model's embeddings only "
                        f"{vocab}")
    return imported, tokenizer


def _default_name(source: Path) -> str:
    """The folder's name; in the Hugging Face cache (`models--org--name/snapshots/<commit>`), the model's."""
    cache_entry = source.parent.parent.name
    if source.parent.name == "snapshots" and cache_entry.startswith("models--"):
        return cache_entry.split("--")[-1]
    return source.name


def free_name(ws: Workspace, name: str) -> str:
    """`name`, or `name-2`, `name-3`, ... if a run already has it (a folder imported twice)."""
    candidate, n = name, 1
    while ws.store.get_run(candidate) is not None:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def import_model(ws: Workspace, folder: str | Path, name: str | None = None) -> RunRecord:
    """Import the Hugging Face folder as a completed `imported` run with one checkpoint (step 0); bad input
    raises `UserError` and leaves nothing behind. Without `name`, the run is named after the folder
    (or the model, for a folder in the Hugging Face cache)."""
    source = Path(folder).expanduser().resolve()
    imported, tokenizer = read_folder(source)
    name = name if name is not None else free_name(ws, _default_name(source))
    return record_imported(ws, name, imported_config(source, imported, tokenizer), tokenizer,
                           [(0, imported.model, None)])


def imported_config(source: Path, imported: HFModel, tokenizer: WorkbenchTokenizer) -> dict:
    """What an imported run records about where it came from: folder, architecture, weights' sha256, configs."""
    return {"source": str(source), "architecture": imported.architecture, "family": imported.family,
            "weight_files": [p.name for p in imported.weight_files], "sha256": imported.sha256,
            "hf_config": imported.hf_config, "model": imported.model.config.to_dict(),
            "tokenizer": tokenizer.config.to_dict()}


def record_imported(ws: Workspace, name: str, run_config: dict, tokenizer: WorkbenchTokenizer,
                    checkpoints: Iterable[tuple[int, BertForMaskedLM, dict | None]]) -> RunRecord:
    """Record a completed `imported` run with the tokenizer in its folder and a checkpoint per (step, model,
    metrics); `checkpoints` may load each model as it is asked for. A failure removes the run and its folder."""
    run = ws.store.create_run(name, "imported", run_config, corpus_id=None, tokenizer_id=None, device="cpu")
    run_dir = ws.layout.run_dir(run.id)
    try:
        tokenizer.save(run_dir / TOKENIZER_DIR)
        for step, model, metrics in checkpoints:
            checkpoint_config = {"model": model.config.to_dict(), "tokenizer_path": str(run_dir / TOKENIZER_DIR),
                                 "run_id": run.id, "source": run_config["source"]}
            info = save_checkpoint(run_dir, model, {"step": step}, checkpoint_config)
            ws.store.add_checkpoint(run.id, step, str(info.path), info.sha256, info.size, metrics,
                                    state_sha256=info.state_sha256)
        return ws.store.set_status(run.id, "completed")
    except BaseException:
        ws.store.delete_run(run.id)
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
