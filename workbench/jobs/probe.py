"""Probe jobs: a run's checkpoint loaded as a model plus its tokenizer, kept in a small LRU cache, and probe
suites evaluated on one or every checkpoint of a run with the results recorded in the run store.

Loading a `small` model from safetensors takes a fraction of a second on a CPU, but the GUI switches between
runs and checkpoints as fast as a user clicks, so the last few loaded models stay in memory (keyed by the
checkpoint's folder, the sha256 of its weights and the device: a checkpoint rewritten by a resume is loaded
again). Evaluating every checkpoint of a run bypasses the cache, so it does not push out the models in use.
A model is loaded in the precision asked for (`ProbeConfig.precision`: fp32, or bf16 weights), so every view
that probes it computes in that precision.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Protocol, Sequence, TypeVar

import safetensors.torch
import torch

from workbench.core.checkpoints import MODEL_FILE, read_checkpoint_config
from workbench.core.devices import resolve_device
from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.objectives import ElectraGenerator, load_generator
from workbench.core.probing.fill_mask import FillMaskResult, InOrderResult, fill_in_order, fill_mask
from workbench.core.probing.precision import cast_for_inference, precision_note
from workbench.core.probing.suites import DEFAULT_TOP_K, SuiteResult, evaluate_suite, load_suite
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.checkpoint_check import verify
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import get_run
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import ensure_cloze_suite
from workbench.settings.model import BertConfig
from workbench.store.probe_results import ProbeResultRecord, metric_series
from workbench.store.runstore import CheckpointRecord, RunRecord

DEFAULT_CACHE_SIZE = 4
MASKED_LM_KINDS = ("pretrain", "imported", "distill")  # runs whose checkpoints hold a masked-LM head
GENERATOR_NOTE = "an ELECTRA run: fill-mask reads its generator (the discriminator predicts replaced tokens only)"


class SuiteScores(Protocol):
    """What a suite's evaluation returns: its name, its version's sha256 and the metrics to store."""

    suite_name: str
    suite_sha256: str
    metrics: dict


Scored = TypeVar("Scored", bound=SuiteScores)


@dataclass(frozen=True)
class ProbeModel:
    """A model ready to probe: weights of one checkpoint in eval mode, its tokenizer, and where they came from."""

    model: BertForMaskedLM
    tokenizer: WorkbenchTokenizer
    run_id: int
    run_name: str
    step: int
    checkpoint_path: Path
    device: torch.device
    generator: ElectraGenerator | None = None  # an ELECTRA run's: its masked LM (the model is the discriminator)
    precision: str = "fp32"  # what the weights compute in (outputs are float32 either way)
    precision_note: str | None = None  # bf16's: faster here, or may be slower

    def describe(self) -> str:
        in_bf16 = "" if self.precision == "fp32" else f" in {self.precision}"
        return f"run {self.run_name!r} at step {self.step}{in_bf16}"

    @property
    def fill_model(self) -> BertForMaskedLM | ElectraGenerator:
        """What fill-mask reads: the model's masked-LM head, or an ELECTRA run's generator (its discriminator's
        masked-LM head was never trained)."""
        return self.model if self.generator is None else self.generator

    def fill(self, text: str, top_k: int, targets: Sequence[str] | None = None, in_order: bool = False,
             head_mask: HeadMask | None = None) -> FillMaskResult | InOrderResult:
        """Fill-mask (or fill in order) on `fill_model`, with a note saying so when that is a generator."""
        fill = fill_in_order if in_order else fill_mask
        result = fill(self.fill_model, self.tokenizer, text, top_k=top_k, targets=targets, head_mask=head_mask)
        if self.generator is None:
            return result
        return replace(result, notes=[GENERATOR_NOTE, *result.notes])


class ModelCache:
    """The `capacity` most recently used models; thread-safe (the GUI loads models on worker threads)."""

    def __init__(self, capacity: int = DEFAULT_CACHE_SIZE) -> None:
        self.capacity = capacity
        self._models: OrderedDict[tuple, ProbeModel] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, load: Callable[[], ProbeModel]) -> ProbeModel:
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key]
        loaded = load()  # outside the lock: another thread may use a cached model meanwhile
        with self._lock:
            self._models[key] = loaded
            self._models.move_to_end(key)
            while len(self._models) > self.capacity:
                self._models.popitem(last=False)
        return loaded

    def __len__(self) -> int:
        return len(self._models)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()


MODEL_CACHE = ModelCache()


def resolve_checkpoint(ws: Workspace, run: RunRecord, step: int | None = None) -> CheckpointRecord:
    """The run's checkpoint at `step`, or its latest one."""
    checkpoints = ws.store.checkpoints(run.id)
    if not checkpoints:
        raise UserError(f"run {run.name!r} has no checkpoint yet; probe it after its first checkpoint is saved")
    if step is None:
        return checkpoints[-1]
    for checkpoint in checkpoints:
        if checkpoint.step == step:
            return checkpoint
    steps = ", ".join(str(c.step) for c in checkpoints)
    raise UserError(f"run {run.name!r} has no checkpoint at step {step}; its checkpoints are at steps {steps}")


def _tokenizer_dir(ws: Workspace, run: RunRecord, checkpoint_config: dict) -> Path:
    """The run's recorded tokenizer, else the folder its checkpoint names (the record may have been deleted)."""
    tokenizer_id = run.config.get("data", {}).get("tokenizer_id", run.tokenizer_id)
    record = ws.store.get_tokenizer(tokenizer_id) if tokenizer_id is not None else None
    folder = Path(record.path) if record is not None else Path(checkpoint_config.get("tokenizer_path", ""))
    if not (folder / "tokenizer.json").is_file():
        raise UserError(f"run {run.name!r}'s tokenizer files are missing (looked in {folder}); it cannot be probed")
    return folder


def run_tokenizer(ws: Workspace, run_ref: str | int) -> WorkbenchTokenizer:
    """The tokenizer a pretraining or imported run's latest checkpoint was trained (or imported) with."""
    run = get_run(ws, run_ref)
    checkpoint = resolve_checkpoint(ws, run)
    return WorkbenchTokenizer.load(_tokenizer_dir(ws, run, read_checkpoint_config(Path(checkpoint.path))))


def _load(ws: Workspace, run: RunRecord, checkpoint: CheckpointRecord, device: torch.device,
          precision: str) -> ProbeModel:
    path = Path(checkpoint.path)
    if not path.is_dir():
        raise UserError(f"run {run.name!r}'s checkpoint at step {checkpoint.step} is missing from {path}")
    verify(checkpoint, run)  # flipped bytes must not change the answers silently
    config = read_checkpoint_config(path)
    tokenizer = WorkbenchTokenizer.load(_tokenizer_dir(ws, run, config))
    model = BertForMaskedLM(BertConfig.from_dict(config["model"])).to(device)
    # Weights only: load_checkpoint would also read the training state (optimizer moments, twice the weights).
    safetensors.torch.load_model(model, str(path / MODEL_FILE), strict=True, device=str(device))
    model.eval()
    train = config.get("train", {})
    generator = load_generator(path, model, train["generator_hidden_size"], device) \
        if train.get("objective") == "electra" else None
    cast_for_inference(model, precision)  # after the generator, which shares the model's embeddings
    if generator is not None:
        cast_for_inference(generator, precision)
    return ProbeModel(model, tokenizer, run.id, run.name, checkpoint.step, path, device, generator, precision,
                      precision_note(precision, device))


def load_probe_model(
    ws: Workspace,
    run_ref: str | int,
    step: int | None = None,
    device: str = "cpu",
    cache: ModelCache | None = MODEL_CACHE,
    precision: str = "fp32",
) -> ProbeModel:
    """Run `run_ref`'s checkpoint at `step` (default: the latest) as a model in eval mode with its weights in
    `precision` ("fp32" or "bf16"), from `cache` if there."""
    run = get_run(ws, run_ref)
    if run.kind not in MASKED_LM_KINDS:
        raise UserError(f"run {run.name!r} is a {run.kind} run without a masked-LM head; probe a pretraining or "
                        f"imported run")
    checkpoint = resolve_checkpoint(ws, run, step)
    resolved = resolve_device(device)
    precision_note(precision, resolved)  # a precision the device cannot compute in is refused before loading
    if cache is None:
        return _load(ws, run, checkpoint, resolved, precision)
    key = (checkpoint.path, checkpoint.sha256, str(resolved), precision)
    return cache.get(key, lambda: _load(ws, run, checkpoint, resolved, precision))


def default_suite_path(ws: Workspace) -> Path:
    """The bundled cloze suite (generated into the home folder when the package has no resources folder)."""
    return ensure_cloze_suite(ws.home / "sample")


def on_checkpoints(
    ws: Workspace,
    run_ref: str | int,
    evaluate: Callable[[ProbeModel], Scored],
    step: int | None = None,
    all_checkpoints: bool = False,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[ProbeResultRecord, Scored]]:
    """`evaluate` on the checkpoint at `step` (default latest) or on every checkpoint, oldest first, recording
    each result's metrics in the store under its suite version; `progress(done, total)` after each checkpoint."""
    run = get_run(ws, run_ref)
    if all_checkpoints:
        checkpoints = ws.store.checkpoints(run.id)
        if not checkpoints:
            raise UserError(f"run {run.name!r} has no checkpoint yet")
    else:
        checkpoints = [resolve_checkpoint(ws, run, step)]
    cache = None if all_checkpoints else MODEL_CACHE
    results = []
    for done, checkpoint in enumerate(checkpoints, start=1):
        result = evaluate(load_probe_model(ws, run.id, checkpoint.step, device, cache=cache))
        record = ws.store.add_probe_result(run.id, checkpoint.step, result.suite_name, result.suite_sha256,
                                           result.metrics)
        results.append((record, result))
        if progress is not None:
            progress(done, len(checkpoints))
    return results


def run_probe_suite(
    ws: Workspace,
    run_ref: str | int,
    suite_path: str | Path | None = None,
    step: int | None = None,
    all_checkpoints: bool = False,
    top_k: int = DEFAULT_TOP_K,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[ProbeResultRecord, SuiteResult]]:
    """Evaluate a cloze suite on one checkpoint or on every checkpoint (`on_checkpoints`)."""
    suite = load_suite(suite_path if suite_path is not None else default_suite_path(ws))
    return on_checkpoints(ws, run_ref, lambda probe: evaluate_suite(probe.fill_model, probe.tokenizer, suite,
                                                                    top_k=top_k),
                          step, all_checkpoints, device, progress)


def knowledge_series(
    ws: Workspace,
    run_ref: str | int,
    suite_sha256: str | None = None,
    metric: str = "precision_at_1",
    group: str | None = None,
) -> list[tuple[int, float]]:
    """(step, value) of a suite metric over a run's checkpoints, for a plot of knowledge against training step.
    Without `suite_sha256`, the suite version evaluated most recently on this run."""
    run = get_run(ws, run_ref)
    results = ws.store.probe_results(run.id, suite_sha256)
    if not results:
        return []
    if suite_sha256 is None:
        newest = max(results, key=lambda r: (r.created_at, r.id)).suite_sha256
        results = [r for r in results if r.suite_sha256 == newest]
    return metric_series(results, metric, group)
