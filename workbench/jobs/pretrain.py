"""Pretraining jobs: from a corpus name and settings to a recorded, checkpointed, resumable run.

Everything is validated before anything is written, so bad input leaves the database and the home folder as
they were. The CLI and the GUI both call `start_pretraining` / `resume_pretraining` and only differ in the
listeners they pass (a progress bar, or signals to plots).

Under torchrun those run on rank 0 alone, with a `DataParallel` world: rank 0 validates, prepares the data,
records the run and then shares a plan (settings, file paths, unigram counts) that the other ranks'
`follow_pretraining` trains from; they read the tokenizer and token caches and write nothing to the home.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from workbench.core.devices import describe_device, free_memory_bytes, resolve_device, resolve_precision
from workbench.core.checkpoints import CheckpointError
from workbench.core.distillation import Distiller
from workbench.core.distributed import Single
from workbench.core.model_config import estimate_training_memory
from workbench.core.objectives import objective_for
from workbench.core.packing import PackedBlocks
from workbench.core.storage import StorageError
from workbench.core.token_cache import TokenCache, build_or_load_cache
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.core.training import Trainer
from workbench.core.training_types import TrainControl, TrainResult
from workbench.jobs.checkpoint_check import resume_point
from workbench.jobs.corpora import get_corpus, rescan, split_documents
from workbench.jobs.demo_model import DEMO_RUN_NAME, is_demo_run
from workbench.jobs.demo_register import ensure_demo_run
from workbench.jobs.distill_run import load_distiller, record_speeds
from workbench.jobs.errors import UserError
from workbench.jobs.recorder import RunRecorder
from workbench.jobs.run_claim import RunBusy, claim_run
from workbench.jobs.throughput import record_throughput
from workbench.jobs.tokenizers import load_tokenizer_folder, tokenizer_for_run
from workbench.jobs.workspace import Workspace
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import recipe_record
from workbench.settings.train import TrainConfig
from workbench.store.runstore import CheckpointRecord, CorpusRecord, RunRecord

Listener = Callable[[object], None]
# (stage, done, total or None): how long preparation steps tell a front end how far they are.
Progress = Callable[[str, int, "int | None"], None]

@dataclass
class PreparedData:
    tokenizer: WorkbenchTokenizer
    train: PackedBlocks
    val: PackedBlocks | None
    unigram_counts: np.ndarray


def check_environment(spec: PretrainSpec) -> None:
    """Refuse a device or precision this machine lacks before anything is written (the settings themselves were
    checked when the spec was built)."""
    device = resolve_device(spec.train.device)
    resolve_precision(spec.train.precision, device)


def check_start(ws: Workspace, spec: PretrainSpec) -> CorpusRecord:
    """What can be refused at once, before any process starts or anything is written: the device, the name, the
    corpus (returned)."""
    check_environment(spec)
    if spec.name is not None and ws.store.get_run(spec.name) is not None:
        raise UserError(f"a run named {spec.name!r} already exists; choose another --name")
    return get_corpus(ws, spec.corpus)


def check_memory(spec: PretrainSpec, config: BertConfig) -> None:
    """Refuse a run whose estimated training step would not fit in the memory free now (before any data is
    prepared or a run recorded): `--max-len 100000` once failed at step 0 asking for 160 GB, leaving a failed run."""
    device = resolve_device(spec.train.device)
    free = free_memory_bytes(device)
    if free is None:
        return
    need = estimate_training_memory(config, spec.train.batch_size, spec.model.max_position_embeddings,
                                    spec.train.precision, spec.masking.mlm_probability,
                                    "cuda" if device.type == "cuda" else "cpu").total
    if need > free:
        raise UserError(f"this run would need about {need / 1e9:,.1f} GB of memory on {describe_device(device)}, "
                        f"and {free / 1e9:,.1f} GB are free; lower --batch-size or --max-len, or pick a smaller model")


def prepare_data(
    ws: Workspace,
    corpus: CorpusRecord,
    tokenizer: WorkbenchTokenizer,
    max_len: int,
    val_fraction: float,
    progress: Progress | None = None,
) -> PreparedData:
    """Encode (or reuse the cached encoding of) both splits and pack them into blocks of `max_len`."""
    scan = rescan(ws, corpus)
    blocks = {}
    for split in ("train", "validation"):
        key = f"{scan.content_hash}|{split}|{val_fraction}"
        report = (lambda done, s=split: progress(f"encoding {s} split", done, None)) if progress else None
        cache = build_or_load_cache(
            lambda s=split: split_documents(corpus, scan, s, val_fraction),
            key,
            tokenizer,
            ws.layout.cache_dir,
            progress=report,
        )
        blocks[split] = (cache, PackedBlocks(cache, max_len, tokenizer.cls_id, tokenizer.pad_id))
    train_cache, train_blocks = blocks["train"]
    if len(train_blocks) == 0:
        raise UserError(f"corpus {corpus.name!r} has no training text after the validation split")
    val_blocks = blocks["validation"][1]
    return PreparedData(
        tokenizer=tokenizer,
        train=train_blocks,
        val=val_blocks if len(val_blocks) > 0 else None,
        unigram_counts=train_cache.token_counts(tokenizer.vocab_size),
    )


def run_tokenizer_folder(ws: Workspace, data_config: dict) -> Path | None:
    """The folder of a run's tokenizer: its store record's, or the folder it records when it has none (a student
    of an imported teacher); None when the record was deleted."""
    if data_config.get("tokenizer_id") is None:
        return Path(data_config["tokenizer_path"])
    record = ws.store.get_tokenizer(data_config["tokenizer_id"])
    return None if record is None else Path(record.path)


def start_pretraining(
    ws: Workspace,
    spec: PretrainSpec,
    listeners: Sequence[Listener] = (),
    control: TrainControl | None = None,
    progress: Progress | None = None,
    world: Single | None = None,
    distill: dict | None = None,
    tokenizer_folder: Path | None = None,
) -> tuple[RunRecord, TrainResult]:
    """Validate, prepare data, record a new run and train it to the end (or until stopped). With `distill` (what
    `jobs.distill` records of a teacher) the run is a `distill` run learning from that teacher, its parent.
    `tokenizer_folder`, a tokenizer that is no store record (an imported teacher's), replaces `spec.tokenizer_id`."""
    corpus = check_start(ws, spec)
    ws.check_writable()
    tokenizer_id = None
    if tokenizer_folder is None:
        tok_progress = (lambda done: progress("training tokenizer", done, None)) if progress else None
        record = tokenizer_for_run(ws, corpus, spec.tokenizer_id, tok_progress)
        tokenizer_id, tokenizer_folder = record.id, Path(record.path)
    tokenizer = load_tokenizer_folder(tokenizer_folder)
    model_config = objective_for(spec.train).model_config(spec.model.config(tokenizer.vocab_size))
    check_memory(spec, model_config)
    data = prepare_data(ws, corpus, tokenizer, spec.model.max_position_embeddings, spec.val_fraction, progress)
    config = {
        "model": model_config.to_dict(),
        "masking": spec.masking.to_dict(),
        "train": spec.train.to_dict(),
        "recipe": recipe_record(spec),
        "data": {
            "corpus": corpus.name,
            "corpus_id": corpus.id,
            "tokenizer_id": tokenizer_id,
            **({} if tokenizer_id is not None else {"tokenizer_path": str(tokenizer_folder)}),
            "max_len": spec.model.max_position_embeddings,
            "val_fraction": spec.val_fraction,
            "train_blocks": len(data.train),
            "val_blocks": len(data.val) if data.val is not None else 0,
        },
    }
    if distill is not None:
        config["distill"] = distill
    device = describe_device(resolve_device(spec.train.device))
    run = ws.store.create_run(
        name=spec.name,
        kind="pretrain" if distill is None else "distill",
        config=config,
        corpus_id=corpus.id,
        tokenizer_id=tokenizer_id,
        preset=spec.model.preset,
        parent_run_id=None if distill is None else distill["teacher"]["run_id"],
        device=device,
    )
    with claim_run(ws, run):
        result = _train(ws, run, model_config, spec.masking, spec.train, data, listeners, control, resume_from=None,
                        world=world)
    return ws.store.get_run(run.id), result


def resume_pretraining(
    ws: Workspace,
    run_ref: str,
    steps: int | None = None,
    listeners: Sequence[Listener] = (),
    control: TrainControl | None = None,
    progress: Progress | None = None,
    notify: Callable[[str], None] | None = None,
    world: Single | None = None,
) -> tuple[RunRecord, TrainResult]:
    """Continue a run from its last intact checkpoint, exactly as if it had never stopped; `steps` may extend it (on
    any number of processes: checkpoints hold the unwrapped model and a data position in global batches). Newer
    checkpoints that are damaged are skipped, and `notify` gets a line naming them and the one used. A run with
    no checkpoint at all (interrupted or failed before its first) trains again from step 0."""
    run = get_run(ws, run_ref)
    if run.kind not in ("pretrain", "distill"):
        raise UserError(f"run {run.name!r} is a {run.kind} run; `resume` continues pretraining runs")
    ws.check_writable()
    with claim_run(ws, run):  # before anything of the run changes: a second resume of it is refused here
        result = _resume_claimed(ws, run, steps, listeners, control, progress, notify, world)
    return ws.store.get_run(run.id), result


def _resume_claimed(ws: Workspace, run: RunRecord, steps: int | None, listeners: Sequence[Listener],
                    control: TrainControl | None, progress: Progress | None, notify: Callable[[str], None] | None,
                    world: Single | None) -> TrainResult:
    checkpoint = _resume_point_or_none(ws, run, notify)
    start_step = 0 if checkpoint is None else checkpoint.step
    train_values = dict(run.config["train"])
    if steps is not None:
        train_values["steps"] = steps
    train_config = TrainConfig.from_dict(train_values)
    if start_step >= train_config.steps:
        raise UserError(
            f"run {run.name!r} already reached step {start_step} of {train_config.steps}; "
            "pass --steps N with a larger N to train further"
        )
    data_config = run.config["data"]
    corpus = ws.store.get_corpus(data_config["corpus_id"])
    folder = run_tokenizer_folder(ws, data_config)
    if corpus is None or folder is None:
        raise UserError(f"run {run.name!r}'s corpus or tokenizer was deleted; it cannot be resumed")
    data = prepare_data(ws, corpus, load_tokenizer_folder(folder), data_config["max_len"], data_config["val_fraction"],
                        progress)
    model_config = BertConfig.from_dict(run.config["model"])
    masking = MaskingConfig.from_dict(run.config["masking"])
    ws.store.truncate_metrics(run.id, after_step=start_step)
    if steps is not None:
        ws.store.update_run(run.id, config={**run.config, "train": train_config.to_dict()})
    return _train(
        ws, run, model_config, masking, train_config, data, listeners, control,
        resume_from=None if checkpoint is None else Path(checkpoint.path), world=world,
    )


def _resume_point_or_none(ws: Workspace, run: RunRecord, notify: Callable[[str], None] | None
                          ) -> CheckpointRecord | None:
    """Where a resume starts (`resume_point`), or None for an interrupted or failed run that saved no checkpoint
    at all (killed before its first one, or before training began): its recorded settings train it again from
    step 0. A completed or stopped run always saved one; with none left (pruned) it is refused as before."""
    if ws.store.checkpoints(run.id) or run.status not in ("interrupted", "failed"):
        return resume_point(ws, run, notify)
    if notify is not None:
        notify(f"run {run.name!r} has no checkpoint; training it from step 0 with its recorded settings")
    return None


def _train(
    ws: Workspace,
    run: RunRecord,
    model_config: BertConfig,
    masking: MaskingConfig,
    train_config: TrainConfig,
    data: PreparedData,
    listeners: Sequence[Listener],
    control: TrainControl | None,
    resume_from: Path | None,
    world: Single | None = None,
) -> TrainResult:
    world = world or Single()
    tokenizer_path = str(run_tokenizer_folder(ws, run.config["data"]))
    plan = {
        "kind": "pretrain", "model": model_config.to_dict(), "masking": masking.to_dict(),
        "train": train_config.to_dict(),
        "tokenizer_path": tokenizer_path, "max_len": data.train.max_len, "train_cache": str(data.train.cache.path),
        "val_cache": None if data.val is None else str(data.val.cache.path), "unigram_counts": data.unigram_counts,
        "run_dir": str(ws.layout.run_dir(run.id)), "resume_from": None if resume_from is None else str(resume_from),
        "extra": {"run_id": run.id, "tokenizer_path": tokenizer_path},
        "distill": run.config.get("distill"),  # a distillation's teacher and settings; None for pretraining
    }
    try:
        distiller = load_distiller(plan["distill"])  # before any rank starts: a missing teacher is said at once
    except CheckpointError as error:
        raise UserError(f"run {run.name!r} cannot train: {error}") from error
    world.share(plan)
    recorder = RunRecorder(ws.store, run.id)
    try:
        result = _trainer(plan, data.tokenizer, data.train, data.val, [recorder, *listeners], control, world,
                          distiller).run(resume_from=resume_from)
    except StorageError as error:  # the run is recorded `stopped` and resumable; the front end shows one line
        raise UserError(str(error)) from error
    finally:
        recorder.close()
    record_throughput(ws, run.id, result)
    if distiller is not None:
        record_speeds(ws, run.id, distiller.teacher, result)
    return result


def follow_pretraining(plan: dict, world: Single, control: TrainControl | None = None) -> TrainResult:
    """A rank other than 0: train from rank 0's plan, reading its files and writing nothing."""
    tokenizer = WorkbenchTokenizer.load(Path(plan["tokenizer_path"]))
    max_len = plan["max_len"]

    def blocks(path: str | None) -> PackedBlocks | None:
        return None if path is None else PackedBlocks(TokenCache(Path(path)), max_len, tokenizer.cls_id,
                                                      tokenizer.pad_id)

    trainer = _trainer(plan, tokenizer, blocks(plan["train_cache"]), blocks(plan["val_cache"]), [], control, world,
                       load_distiller(plan.get("distill")))
    return trainer.run(resume_from=None if plan["resume_from"] is None else Path(plan["resume_from"]))


def _trainer(plan: dict, tokenizer: WorkbenchTokenizer, train: PackedBlocks, val: PackedBlocks | None,
             listeners: Sequence[Listener], control: TrainControl | None, world: Single,
             distiller: Distiller | None) -> Trainer:
    """The same trainer on every rank, from the plan rank 0 shares."""
    return Trainer(
        BertConfig.from_dict(plan["model"]), TrainConfig.from_dict(plan["train"]),
        MaskingConfig.from_dict(plan["masking"]), train, val, tokenizer, Path(plan["run_dir"]),
        listeners=listeners, control=control, unigram_counts=plan["unigram_counts"],
        extra_checkpoint_config=plan["extra"], world=world, distiller=distiller,
    )


def get_run(ws: Workspace, run_ref: str | int) -> RunRecord:
    run = ws.store.get_run(run_ref)
    if run is None and run_ref == DEMO_RUN_NAME:  # the bundled demo model, recorded on first use
        run = ensure_demo_run(ws)
    if run is None:
        raise UserError(f"no run {run_ref!r}; `runs list` shows the runs")
    return run


def split_step(ws: Workspace, reference: str) -> tuple[str, int | None]:
    """"RUN:STEP" as (RUN, STEP), "RUN" as (RUN, None); a run whose name holds ":" itself is taken whole."""
    ref, _, step = reference.rpartition(":")
    if not step.isdigit() or not ref or ws.store.get_run(reference) is not None:
        return reference, None
    return ref, int(step)


def delete_run(ws: Workspace, run_ref: str | int) -> RunRecord:
    """Delete a run's records and its folder (checkpoints); the caller asks for confirmation."""
    run = get_run(ws, run_ref)
    if run.status in ("running", "paused"):
        raise UserError(f"run {run.name!r} is {run.status}; stop it before deleting it")
    if is_demo_run(run):
        raise UserError(f"run {run.name!r} is the bundled demo model; it is read-only and cannot be deleted")
    try:
        with claim_run(ws, run):  # a process that holds it (a resume starting) keeps it
            ws.store.delete_run(run.id)
            shutil.rmtree(ws.layout.run_dir(run.id), ignore_errors=True)
    except RunBusy as busy:
        raise UserError(f"{busy}; stop it before deleting it") from None
    return run
