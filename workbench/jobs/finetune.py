"""Fine-tuning jobs: a labelled file plus a pretraining run (or a preset trained from scratch) to a recorded run,
and predictions from a finished fine-tuning run.

Everything is read and validated before the run is created, so bad input leaves no half-made run. The run is
`kind="finetune"` with the pretraining run as its parent; per-step `train_loss` and `lr`, per-epoch `val_*`
metrics (at the step the epoch ended) and a checkpoint per epoch are recorded; the best epoch (by the task's
main metric) is stored in the run's config under `result` and is what `predict` uses, with the test file's
scores (`--test`: scored once, with the best epoch) and the trivial baselines' scores on the validation and test
data (`baselines`: the floor each score is read against). The model's maximum
length caps `max_len` (a run pretrained with 32 positions fine-tunes with at most 32 tokens). A stopped or
interrupted run continues from its latest checkpoint with `resume_finetuning`, reproducing the curve it
would have had (metrics logged after that checkpoint are dropped first, as pretraining does).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence

import torch

from workbench.core.checkpoints import load_checkpoint, read_checkpoint_config
from workbench.core.devices import describe_device, resolve_device
from workbench.core.distributed import Single
from workbench.core.epochs import seed_everything
from workbench.core.finetune import data as readers
from workbench.core.finetune.data import ClassificationExample, QAExample, TaggedSentence
from workbench.core.finetune.encoding import collate
from workbench.core.finetune.heads import build_task_model, freeze, from_pretraining, pretraining_config
from workbench.core.finetune.metrics import get_entities
from workbench.core.finetune.qa import answers_outside_windows, default_doc_stride
from workbench.core.finetune.tasks import ClassifyTask, QATask, TagTask
from workbench.core.finetune.trainer import EpochEvent, FinetuneResult, FinetuneTrainer
from workbench.core.storage import StorageError
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.core.training_types import TrainControl
from workbench.jobs.checkpoint_check import resume_point, verified_path, verify
from workbench.jobs.corpora import get_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import get_run, split_step
from workbench.jobs.recorder import RunRecorder
from workbench.jobs.run_claim import claim_run
from workbench.jobs.tokenizers import load_tokenizer, tokenizer_for_run
from workbench.jobs.workspace import Workspace
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.model import BertConfig, preset_config
from workbench.store.runstore import RunRecord, RunStore

Listener = Callable[[object], None]


@dataclass(frozen=True)
class FinetuneSpec:
    """What a user chooses: the data files and columns, exactly one base model (`from_run`, "RUN" or
    "RUN:STEP"; `scratch`, a preset; `scratch_like`, "RUN" or "RUN:STEP": that pretraining run's architecture and
    tokenizer with random weights, the baseline a fine-tune from that run is compared with), and the settings
    (the task is `config.task`)."""

    train: str
    validation: str | None = None
    test: str | None = None  # scored once after training, with the epoch the validation data chose
    text_column: str | None = None
    text_pair_column: str | None = None
    label_column: str = "label"
    from_run: str | None = None
    scratch: str | None = None
    scratch_like: str | None = None
    tokenizer_id: int | None = None  # scratch only; default: the newest tokenizer
    config: FinetuneConfig = field(default_factory=FinetuneConfig)
    val_fraction: float = 0.1
    name: str | None = None

    @property
    def task(self) -> str:
        return self.config.task


@dataclass
class _Source:
    tokenizer: WorkbenchTokenizer
    tokenizer_id: int | None
    tokenizer_path: str
    model_config: BertConfig
    checkpoint: Path | None = None
    parent: RunRecord | None = None


def _resolve_source(ws: Workspace, spec: FinetuneSpec, max_len: int) -> _Source:
    if sum(x is not None for x in (spec.from_run, spec.scratch, spec.scratch_like)) != 1:
        raise UserError("give exactly one of --from RUN[:STEP] (a pretraining run), --scratch PRESET or "
                        "--scratch-like RUN")
    if spec.scratch_like is not None:
        return replace(_pretrained_source(ws, spec.scratch_like), checkpoint=None, parent=None)
    if spec.scratch is not None:
        record = ws.store.get_tokenizer(spec.tokenizer_id) if spec.tokenizer_id is not None else None
        if spec.tokenizer_id is not None and record is None:
            raise UserError(f"no tokenizer with id {spec.tokenizer_id}; `tokenizer list` shows them")
        tokenizers = ws.store.list_tokenizers()
        record = record or (max(tokenizers, key=lambda t: t.id) if tokenizers
                            else tokenizer_for_run(ws, get_corpus(ws, None), None))
        tokenizer = load_tokenizer(record)
        config = preset_config(spec.scratch, vocab_size=tokenizer.vocab_size, max_len=max_len)
        return _Source(tokenizer, record.id, record.path, config)
    return _pretrained_source(ws, spec.from_run)


def _pretrained_source(ws: Workspace, reference: str) -> _Source:
    """A pretraining or imported run's checkpoint ("RUN" for its latest, "RUN:STEP"), config and tokenizer."""
    ref, step = split_step(ws, reference)
    run = get_run(ws, ref)
    if run.kind not in ("pretrain", "distill", "imported"):
        raise UserError(f"run {run.name!r} is a {run.kind} run; --from takes a pretraining, distillation or imported "
                        "run")
    checkpoints = ws.store.checkpoints(run.id)
    chosen = [c for c in checkpoints if c.step == step] if step is not None else checkpoints[-1:]
    if not chosen:
        steps = ", ".join(str(c.step) for c in checkpoints) or "none"
        where = f" at step {step}" if step is not None else ""
        raise UserError(f"run {run.name!r} has no checkpoint{where}; it has: {steps}")
    checkpoint = Path(verify(chosen[0], run, with_state=True).path)  # from_pretraining reads both files
    record = ws.store.get_tokenizer(run.tokenizer_id) if run.tokenizer_id is not None else None
    path = record.path if record else read_checkpoint_config(checkpoint).get("tokenizer_path")
    if path is None or not Path(path, "tokenizer.json").exists():
        raise UserError(f"run {run.name!r}'s tokenizer is gone; it cannot be fine-tuned")
    return _Source(WorkbenchTokenizer.load(path), record.id if record else None, str(path),
                   pretraining_config(checkpoint), checkpoint, run)


def _read(spec: FinetuneSpec, path: str) -> list:
    if not Path(path).is_file():
        raise UserError(f"no such file: {path}")
    if spec.task == "classify":
        return readers.read_classification(path, spec.text_column, spec.label_column, spec.text_pair_column)
    return readers.read_conll(path) if spec.task == "tag" else readers.read_squad(path)


def _labels(task: str, examples: list) -> list[str]:
    if task == "classify":
        return readers.label_list([e.label for e in examples])
    if task == "tag":
        return readers.label_list([t for s in examples for t in s.tags], first="O")
    return []


def _build_task(task: str, config: FinetuneConfig, labels: list[str], allow_no_answer: bool = False,
                null_threshold: float = 0.0):
    if task == "classify":
        return ClassifyTask(labels, config.max_len)
    if task == "tag":
        return TagTask(labels, config.max_len)
    doc_stride = config.doc_stride if config.doc_stride is not None else default_doc_stride(config.max_len)
    return QATask(labels, config.max_len, doc_stride, config.max_answer_len, allow_no_answer, null_threshold)


def _allow_no_answer(config: FinetuneConfig, train: list) -> bool:
    if config.task != "qa":
        return False
    return {"auto": any(e.is_impossible for e in train), "allow": True, "forbid": False}[config.no_answer]


def _qa_warnings(config: FinetuneConfig, allow_no_answer: bool, train: list, scored: dict[str, list],
                 lost: int) -> list[str]:
    """What makes a QA run's scores read differently from what a user would assume."""
    warnings = []
    if not allow_no_answer:
        for part, examples in scored.items():
            n = sum(e.is_impossible for e in examples)
            if n:
                why = ("the training data has no unanswerable questions (SQuAD v1.1)" if config.no_answer == "auto"
                       else "no-answer is forbidden")
                warnings.append(f"{why}, so the model never answers \"no answer\", and each of the {n} unanswerable "
                                f"questions in the {part} data scores 0; set no-answer to allow (--no-answer allow) "
                                "to learn it anyway")
    if lost:
        warnings.append(f"{lost} of {sum(not e.is_impossible for e in train)} training answers fit in no window "
                        f"(longer than the longest answer, --max-answer-len, or than the room the question leaves), "
                        f"so training never sees them; raise --max-answer-len or --max-len")
    return warnings


def _read_test(spec: FinetuneSpec, labels: list[str]) -> list:
    """The test examples ([] without a test file); labels the head has no output for are refused."""
    if spec.test is None:
        return []
    test = _read(spec, spec.test)
    if spec.task == "classify":
        readers.check_labels(spec.test, [e.label for e in test], labels)
    elif spec.task == "tag":
        readers.check_labels(spec.test, [t for s in test for t in s.tags], labels)
    return test


def _read_splits(spec: FinetuneSpec, seed: int) -> tuple[list, list]:
    """(train, validation) examples: both files, or a seeded split of the training file that keeps a QA
    article, a duplicated text or sentence on one side (`readers.split_group`)."""
    train = _read(spec, spec.train)
    if spec.validation is not None:
        return train, _read(spec, spec.validation)
    return readers.split_train_validation(train, spec.val_fraction, seed, readers.split_key(train))


def start_finetuning(ws: Workspace, spec: FinetuneSpec, listeners: Sequence[Listener] = (),
                     control: TrainControl | None = None,
                     world: Single | None = None) -> tuple[RunRecord, FinetuneResult]:
    """Read and validate everything, record a `finetune` run, train it and store the best epoch."""
    resolve_device(spec.config.device)
    ws.check_writable()
    if spec.name is not None and ws.store.get_run(spec.name) is not None:
        raise UserError(f"a run named {spec.name!r} already exists; choose another --name")
    source = _resolve_source(ws, spec, spec.config.max_len)
    config = replace(spec.config.resolved(source.model_config.hidden_size),
                     max_len=min(spec.config.max_len, source.model_config.max_position_embeddings))
    train, validation = _read_splits(spec, config.seed)
    # Labels of both parts: a rare tag or class may only occur in the validation part; its output stays unused.
    labels = _labels(spec.task, [*train, *validation])
    test = _read_test(spec, labels)
    allow_no_answer = _allow_no_answer(config, train)
    task = _build_task(spec.task, config, labels, allow_no_answer)
    data = _encode(task, source.tokenizer, train, validation, test)  # before the run exists: bad data leaves no run
    warnings = _qa_warnings(config, allow_no_answer, train, {"validation": validation, "test": test},
                            answers_outside_windows(train, data.train_features)) if spec.task == "qa" else []
    run_config = {
        "task": spec.task, "finetune": config.to_dict(), "model": source.model_config.to_dict(), "labels": labels,
        "allow_no_answer": allow_no_answer, "tokenizer_path": source.tokenizer_path, "warnings": warnings,
        "data": {"train": str(Path(spec.train).resolve()), "validation": spec.validation and str(Path(spec.validation).resolve()),
                 "test": spec.test and str(Path(spec.test).resolve()),
                 "text_column": spec.text_column, "text_pair_column": spec.text_pair_column,
                 "label_column": spec.label_column, "val_fraction": spec.val_fraction,
                 "train_examples": len(train), "validation_examples": len(validation), "test_examples": len(test)},
        "source": {"run_id": source.parent.id, "checkpoint": str(source.checkpoint)} if source.parent
        else {"scratch": spec.scratch, "scratch_like": spec.scratch_like},
    }
    run = ws.store.create_run(
        name=spec.name, kind="finetune", config=run_config,
        corpus_id=source.parent.corpus_id if source.parent else None, tokenizer_id=source.tokenizer_id,
        preset=spec.scratch, parent_run_id=source.parent.id if source.parent else None,
        device=describe_device(resolve_device(config.device)),
    )
    with claim_run(ws, run):
        seed_everything(config.seed)
        model = (from_pretraining(spec.task, source.checkpoint, len(labels) or 2) if source.checkpoint
                 else build_task_model(spec.task, source.model_config, len(labels) or 2))
        return _train(ws, run, task, model, data, source.tokenizer.pad_id, listeners, control, resume_from=None,
                      world=world)


def resume_finetuning(ws: Workspace, run_ref: str | int, listeners: Sequence[Listener] = (),
                      control: TrainControl | None = None,
                      world: Single | None = None) -> tuple[RunRecord, FinetuneResult]:
    """Continue a stopped or interrupted fine-tuning run from its latest checkpoint, exactly as if it had
    never stopped (the data files must still be where they were)."""
    run = get_run(ws, run_ref)
    if run.kind != "finetune":
        raise UserError(f"run {run.name!r} is a {run.kind} run; this resumes fine-tuning runs")
    ws.check_writable()
    with claim_run(ws, run):  # before anything of the run changes: a second resume of it is refused here
        if run.status in ("completed", "running", "paused", "queued"):
            raise UserError(f"run {run.name!r} is {run.status}; only stopped, interrupted or failed runs resume")
        return _resume_claimed(ws, run, listeners, control, world)


def _resume_claimed(ws: Workspace, run: RunRecord, listeners: Sequence[Listener], control: TrainControl | None,
                    world: Single | None) -> tuple[RunRecord, FinetuneResult]:
    checkpoint = resume_point(ws, run)
    saved, spec = run.config, _saved_spec(run)
    config = spec.config
    task = _build_task(saved["task"], config, saved["labels"], saved["allow_no_answer"])
    tokenizer = WorkbenchTokenizer.load(saved["tokenizer_path"])
    data = _encode(task, tokenizer, *_read_splits(spec, config.seed), _read_test(spec, saved["labels"]))
    seed_everything(config.seed)
    model = build_task_model(saved["task"], BertConfig.from_dict(saved["model"]), len(saved["labels"]) or 2)
    ws.store.truncate_metrics(run.id, after_step=checkpoint.step)
    return _train(ws, run, task, model, data, tokenizer.pad_id, listeners, control, resume_from=Path(checkpoint.path),
                  world=world)


def _saved_spec(run: RunRecord) -> FinetuneSpec:
    """The data files, columns and settings a fine-tuning run was started with."""
    data = run.config["data"]
    return FinetuneSpec(train=data["train"], validation=data["validation"], test=data.get("test"),
                        text_column=data["text_column"], text_pair_column=data["text_pair_column"],
                        label_column=data["label_column"], val_fraction=data.get("val_fraction", 0.1),
                        config=FinetuneConfig.from_dict(run.config["finetune"]))


def validation_examples(ws: Workspace, run_ref: str | int) -> list:
    """A fine-tuning run's validation examples, read again from its files (its seeded split of the training file
    when it had no validation file)."""
    spec = _saved_spec(get_run(ws, run_ref))
    return _read_splits(spec, spec.config.seed)[1]


@dataclass(frozen=True)
class _Data:
    """A run's encoded data, and the trivial baseline's scores on its validation and test examples."""

    train_features: list
    validation: list
    validation_features: list
    test: list
    test_features: list
    baselines: dict[str, dict[str, float]]


def _encode(task, tokenizer: WorkbenchTokenizer, train: list, validation: list, test: list) -> _Data:
    baselines = {"validation": task.baseline(train, validation)}
    if test:
        baselines["test"] = task.baseline(train, test)
    return _Data(task.encode(tokenizer, train), validation, task.encode(tokenizer, validation), test,
                 task.encode(tokenizer, test), baselines)


def _train(ws: Workspace, run: RunRecord, task, model: torch.nn.Module, data: _Data, pad_id: int,
           listeners: Sequence[Listener], control: TrainControl | None,
           resume_from: Path | None, world: Single | None = None) -> tuple[RunRecord, FinetuneResult]:
    """Train (or go on training) a recorded run and store its best epoch under `result` in its config. Under
    torchrun (rank 0) it first shares with the other ranks what `follow_finetuning` trains from."""
    run_config = dict(run.config)
    config = FinetuneConfig.from_dict(run_config["finetune"])
    freeze(model, config.freeze_embeddings, config.freeze_layers)
    recorder = RunRecorder(ws.store, run.id)
    checkpoint_config = {**{k: run_config[k] for k in ("task", "model", "labels", "finetune", "allow_no_answer",
                                                      "tokenizer_path")}, "run_id": run.id}
    world = world or Single()
    world.share({"kind": "finetune", "checkpoint_config": checkpoint_config, "task": task,
                 "train_features": data.train_features, "validation_features": data.validation_features,
                 "pad_id": pad_id, "run_dir": str(ws.layout.run_dir(run.id)),
                 "resume_from": None if resume_from is None else str(resume_from)})
    trainer = FinetuneTrainer(model, config, task, data.train_features, data.validation, data.validation_features,
                              pad_id, ws.layout.run_dir(run.id), checkpoint_config,
                              listeners=[recorder, EpochRecorder(ws.store, run.id), *listeners], control=control,
                              test_examples=data.test, test_features=data.test_features, world=world)
    try:
        result = trainer.run(resume_from=resume_from)
    except StorageError as error:  # the run is recorded `stopped` and resumable; the front end shows one line
        raise UserError(str(error)) from error
    finally:
        recorder.close()
    result.baselines, result.warnings = data.baselines, run_config.get("warnings", [])
    run_config["result"] = {"best_epoch": result.best_epoch, "best_checkpoint": result.best_checkpoint and str(result.best_checkpoint),
                            "best_metrics": result.best_metrics, "best_details": result.best_details,
                            "test_metrics": result.test_metrics, "test_details": result.test_details,
                            "baselines": result.baselines,
                            "epochs": result.epochs, "steps": result.steps}
    return ws.store.update_run(run.id, config=run_config), result


def follow_finetuning(plan: dict, world: Single, control: TrainControl | None = None) -> FinetuneResult:
    """A rank other than 0: train from rank 0's plan and write nothing. Its model starts as any model of the
    same shape: DDP copies rank 0's weights to every rank when it wraps them."""
    saved = plan["checkpoint_config"]
    config = FinetuneConfig.from_dict(saved["finetune"])
    model = build_task_model(saved["task"], BertConfig.from_dict(saved["model"]), len(saved["labels"]) or 2)
    freeze(model, config.freeze_embeddings, config.freeze_layers)
    trainer = FinetuneTrainer(model, config, plan["task"], plan["train_features"], [], plan["validation_features"],
                              plan["pad_id"], Path(plan["run_dir"]), saved, control=control, world=world)
    return trainer.run(resume_from=None if plan["resume_from"] is None else Path(plan["resume_from"]))


class EpochRecorder:
    """Records each epoch's validation metrics as `val_<name>` (and `epoch`, `epoch_train_loss`) at its step."""

    def __init__(self, store: RunStore, run_id: int) -> None:
        self.store, self.run_id = store, run_id

    def __call__(self, event: object) -> None:
        if isinstance(event, EpochEvent):
            values = {"epoch": event.epoch, "epoch_train_loss": event.train_loss, "val_loss": event.val_loss,
                      **{f"val_{k}": v for k, v in event.metrics.items() if not k.endswith("total")}}
            now_ms = int(time.time() * 1000)
            self.store.log_metrics(self.run_id, [(k, event.step, float(v), now_ms) for k, v in values.items()
                                                 if v is not None])


# ---- prediction -------------------------------------------------------------------------------------------


def load_finetuned(ws: Workspace, run_ref: str | int, step: int | None = None):
    """(task object, model in eval mode, tokenizer) of a fine-tuning run's checkpoint at `step`, else its best
    (else latest) one."""
    run = get_run(ws, run_ref)
    if run.kind != "finetune":
        raise UserError(f"run {run.name!r} is a {run.kind} run; `predict` takes a fine-tuning run")
    learned = ((run.config.get("result") or {}).get("best_metrics") or {}).get("null_threshold", 0.0)
    checkpoint = verified_path(ws, run, finetuned_checkpoint(ws, run, step), with_state=True)
    return load_task_checkpoint(checkpoint, learned)  # load_checkpoint reads both files


def finetuned_checkpoint(ws: Workspace, run: RunRecord, step: int | None = None) -> Path:
    """A fine-tuning run's checkpoint at `step`, else the best epoch's (what `predict` uses), else the latest."""
    checkpoints = ws.store.checkpoints(run.id)
    if step is not None:
        chosen = [Path(c.path) for c in checkpoints if c.step == step]
        if not chosen:
            steps = ", ".join(str(c.step) for c in checkpoints) or "none"
            raise UserError(f"run {run.name!r} has no checkpoint at step {step}; it has: {steps}")
        checkpoint = chosen[0]
    else:
        best = (run.config.get("result") or {}).get("best_checkpoint")
        checkpoint = Path(best) if best else (Path(checkpoints[-1].path) if checkpoints else None)
    if checkpoint is None:
        raise UserError(f"run {run.name!r} has no checkpoint yet")
    if not checkpoint.is_dir():
        raise UserError(f"run {run.name!r}'s checkpoint is missing from {checkpoint}")
    return checkpoint


def load_task_checkpoint(checkpoint: Path, null_threshold: float = 0.0):
    """(task object, model in eval mode, tokenizer) of one fine-tuning checkpoint; a QA task answers "" above
    `null_threshold` (the one its run learned on validation)."""
    saved = read_checkpoint_config(checkpoint)
    config = FinetuneConfig.from_dict(saved["finetune"])
    model = build_task_model(saved["task"], BertConfig.from_dict(saved["model"]), len(saved["labels"]) or 2)
    load_checkpoint(checkpoint, model)
    model.eval()
    task = _build_task(saved["task"], config, saved["labels"], saved["allow_no_answer"], null_threshold)
    return task, model, WorkbenchTokenizer.load(saved["tokenizer_path"])


@torch.no_grad()
def predict(ws: Workspace, run_ref: str | int, text: str, text_pair: str | None = None,
            context: str | None = None) -> dict:
    """classify: label and probabilities; tag: words, tags and entities; qa (`text` is the question): answer."""
    task, model, tokenizer = load_finetuned(ws, run_ref)
    if task.name == "classify":
        features = task.encode(tokenizer, [ClassificationExample(text, task.labels[0], text_pair)])
        probs = model(**collate(features, tokenizer.pad_id)).logits[0].softmax(-1).tolist()
        best = max(range(len(probs)), key=probs.__getitem__)
        return {"task": "classify", "label": task.labels[best], "probabilities": dict(zip(task.labels, probs))}
    if task.name == "tag":
        words = text.split()
        if not words:
            raise UserError("predict: give some text to tag")
        features = task.encode(tokenizer, [TaggedSentence(words, ["O"] * len(words))])
        tags = task.word_tags(features[0], model(**collate(features, tokenizer.pad_id)).logits[0])
        entities = [{"type": t, "text": " ".join(words[a: b + 1]), "start": a, "end": b} for t, a, b in get_entities(tags)]
        return {"task": "tag", "tokens": words, "tags": tags, "entities": entities}
    if not context:
        raise UserError("predict: a QA run needs --context TEXT (the passage to answer from)")
    example = QAExample("q", text, context)
    features = task.encode(tokenizer, [example])
    logits = [model(**collate([f], tokenizer.pad_id)).logits[0] for f in features]
    return {"task": "qa", "answer": task.answers([example], features, logits)[0]}
