"""The fine-tuning loop: epochs over shuffled features, validation after each, the best epoch kept.

AdamW with BERT's decay groups and separate learning rates for the encoder (`lr`) and the new head (`head_lr`,
default `lr`), linear warm-up over `warmup_ratio` of all steps then linear decay to 0, gradient clipping. After
every epoch the validation set is scored (`tasks`), an `EpochEvent` carries the metrics and a checkpoint is
written (weights, {"step", "epoch", "metrics"}, and the caller's config); the best epoch by the task's main
metric (then its tie-break, `tasks.epoch_rank`) is remembered, and with `early_stopping` N training ends after N
epochs without improvement. A test set, when given, is scored once after training completes, with the best
epoch's weights: it plays no part in choosing the epoch, so its score is not optimistic as the validation one is.
Listeners also get pretraining's `StepEvent` / `CheckpointEvent` / `StatusEvent`, so the same recorders and
progress bars work. `TrainControl.stop()` ends training after the current step with a checkpoint. Every
checkpoint holds what resuming needs (optimizer, scheduler, RNG states, the position in the epoch, the running
epoch loss and the best epoch so far), and each epoch's order is a pure function of (seed, epoch), so
`run(resume_from=checkpoint)` reproduces the uninterrupted run's losses and metrics exactly on the CPU.
Under torchrun (a `DataParallel` world, core/distributed.py) every rank trains on its share of each global batch,
weighted by its share of the batch's examples; rank 0 alone scores, decides on early stopping and saves.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch

from workbench.core.checkpoints import capture_rng_state, load_checkpoint, restore_rng_state, save_checkpoint
from workbench.core.distributed import Single, is_peer_failure
from workbench.core.epochs import EpochSampler
from workbench.core.finetune.encoding import Feature, collate
from workbench.core.finetune.tasks import epoch_rank
from workbench.core.optim import build_scheduler, no_decay_parameter_names
from workbench.core.storage import StorageError
from workbench.core.training_types import CheckpointEvent, StatusEvent, StepEvent, TrainControl
from workbench.settings.finetune import FinetuneConfig

HEAD_PREFIXES = ("classifier.", "qa_outputs.", "bert.pooler.")


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    step: int
    train_loss: float
    val_loss: float | None
    metrics: dict[str, float]  # the task's flat validation metrics
    is_best: bool


@dataclass
class FinetuneResult:
    status: str  # completed | stopped | failed | interrupted (another process of a data-parallel run was lost)
    epochs: int
    steps: int
    best_epoch: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_details: dict = field(default_factory=dict)
    best_checkpoint: Path | None = None
    message: str = ""
    last_checkpoint: Path | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)  # the best epoch on the test set, if any
    test_details: dict = field(default_factory=dict)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)  # {"validation"|"test": trivial scores}
    warnings: list[str] = field(default_factory=list)  # what makes the scores read differently (see jobs.finetune)


@dataclass
class _Progress:
    """Where training is: what a checkpoint saves besides the weights, optimizer, scheduler and RNG."""

    epoch: int = 1  # the epoch in progress (or next to start)
    batch: int = 0  # next batch of that epoch
    epoch_loss: float = 0.0  # sum of its training losses so far
    epoch_batches: int = 0
    best_score: list[float] = field(default_factory=list)  # epoch_rank of the best epoch; [] before the first
    patience: int = 0  # epochs since the best one


def build_finetune_optimizer(model: torch.nn.Module, lr: float, head_lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW over [encoder decayed, encoder not decayed, head decayed, head not decayed]; frozen ones left out."""
    no_decay = no_decay_parameter_names(model)
    groups: dict[tuple[bool, bool], list] = {(h, d): [] for h in (False, True) for d in (True, False)}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups[(name.startswith(HEAD_PREFIXES), name not in no_decay)].append(p)
    param_groups = [{"params": ps, "lr": head_lr if head else lr, "weight_decay": weight_decay if decay else 0.0}
                    for (head, decay), ps in groups.items() if ps]
    return torch.optim.AdamW(param_groups, lr=lr, betas=(0.9, 0.999), eps=1e-6)


class FinetuneTrainer:
    """`run()` trains `model` on `train_features` and scores `val_examples` / `val_features` with `task`."""

    def __init__(self, model: torch.nn.Module, config: FinetuneConfig, task, train_features: Sequence[Feature],
                 val_examples: Sequence, val_features: Sequence[Feature], pad_id: int, run_dir: Path,
                 checkpoint_config: dict, listeners: Sequence[Callable[[object], None]] = (),
                 control: TrainControl | None = None, test_examples: Sequence = (),
                 test_features: Sequence[Feature] = (), world: Single | None = None) -> None:
        if not train_features or not val_features:
            raise ValueError("fine-tuning needs at least one training and one validation example")
        self.world = world or Single()
        if config.batch_size % self.world.world_size:
            raise ValueError(f"batch_size={config.batch_size} does not split evenly over {self.world.world_size} "
                             "processes (it is the global batch; each process reads batch_size / processes)")
        self.device = self.world.resolve_device(config.device)
        self.model, self.config, self.task = model.to(self.device), config, task
        self.trained_model = self.world.wrap(self.model)
        self.world.decorrelate(config.seed)
        self.train_features, self.val_examples, self.val_features = train_features, val_examples, val_features
        self.test_examples, self.test_features = test_examples, test_features
        self.pad_id, self.run_dir, self.checkpoint_config = pad_id, Path(run_dir), checkpoint_config
        self.listeners, self.control = list(listeners), control or TrainControl()
        self.steps_per_epoch = math.ceil(len(train_features) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.optimizer = build_finetune_optimizer(model, config.lr, config.head_lr or config.lr, config.weight_decay)
        self.scheduler = build_scheduler(self.optimizer, round(config.warmup_ratio * self.total_steps), self.total_steps)
        self.sampler = EpochSampler(len(train_features), config.batch_size, config.seed)
        self.progress = _Progress()
        self.result = FinetuneResult("completed", 0, 0)

    def _emit(self, event: object) -> None:
        for listener in self.listeners:
            listener(event)

    def _batch(self, features: Sequence[Feature]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in collate(features, self.pad_id).items()}

    def run(self, resume_from: Path | None = None) -> FinetuneResult:
        """Train all epochs (or until stopped / early-stopped), from a checkpoint when given; failures give status
        `failed`. A disk that refuses a write raises `StorageError` after the run is reported `stopped`."""
        result = self.result
        try:
            if resume_from is not None:
                self._restore(Path(resume_from))
            self._emit(StatusEvent("running", f"resumed at step {result.steps}" if resume_from else ""))
            self._epochs()
            if (result.status == "completed" and self.test_features and result.best_checkpoint is not None
                    and self.world.is_writer):
                result.test_metrics, result.test_details = self.score_best(self.test_examples, self.test_features)
        except StorageError as error:  # the disk failed, not the run: stopped, what it saved is intact
            kept = f"{result.last_checkpoint.name} is intact" if result.last_checkpoint else "no checkpoint was saved"
            result.status, result.message = "stopped", f"{error}; the run is stopped and {kept}"
            self._emit(StatusEvent(result.status, result.message))
            raise StorageError(error.errno, result.message) from error
        except Exception as error:  # reported as a status, like pretraining; the caller shows the message
            lost = self.world.world_size > 1 and is_peer_failure(error)  # resumable from the last checkpoint
            result.status = "interrupted" if lost else "failed"
            result.message = f"another process of this run was lost: {error}" if lost else \
                f"{type(error).__name__}: {error}"
        self._emit(StatusEvent(result.status, result.message))
        return result

    def _epochs(self) -> None:
        result, progress = self.result, self.progress
        while progress.epoch <= self.config.epochs:
            if not self._train_epoch(self.sampler.permutation(progress.epoch)):
                if progress.batch > 0:  # at an epoch's start the epoch's own checkpoint is the latest
                    self._checkpoint({})
                result.status, result.message = "stopped", f"stopped at step {result.steps}"
                return
            if self._end_epoch():
                return
            if self._stop_requested() and progress.epoch <= self.config.epochs:
                result.status, result.message = "stopped", f"stopped after epoch {result.epochs}"
                return

    def _stop_requested(self) -> bool:
        return self.world.requests(self.control)[1]  # asked of any rank, agreed by all

    def _end_epoch(self) -> bool:
        """Score the finished epoch, checkpoint it, move to the next; True when early stopping ends training."""
        result, progress = self.result, self.progress
        epoch, train_loss = progress.epoch, progress.epoch_loss / max(progress.epoch_batches, 1)
        result.epochs = epoch
        if not self.world.is_writer:  # rank 0 scores and decides; the others learn only whether to go on
            progress.epoch, progress.batch, progress.epoch_loss, progress.epoch_batches = epoch + 1, 0, 0.0, 0
            self._checkpoint({})
            return self.world.broadcast(False)
        val_loss, metrics, details = self.evaluate()
        score = epoch_rank(self.task, metrics)
        is_best = score > progress.best_score
        if is_best:
            progress.best_score, progress.patience = score, 0
            result.best_epoch, result.best_metrics, result.best_details = epoch, metrics, details
        else:
            progress.patience += 1
        self._emit(EpochEvent(epoch, result.steps, train_loss, val_loss, metrics, is_best))
        progress.epoch, progress.batch, progress.epoch_loss, progress.epoch_batches = epoch + 1, 0, 0.0, 0
        path = self._checkpoint(metrics)
        if is_best:
            result.best_checkpoint = path
        early = bool(self.config.early_stopping and progress.patience >= self.config.early_stopping)
        if early:
            result.message = f"early stopping after epoch {epoch}"
        return self.world.broadcast(early)

    def _train_epoch(self, order: list[int]) -> bool:
        """Train the rest of the current epoch; False when stopped before its end."""
        self.trained_model.train()
        result, progress, size = self.result, self.progress, self.config.batch_size
        tokens, started, count = 0, time.perf_counter(), 0
        while progress.batch * size < len(order):
            if self._stop_requested():
                return False
            indices = order[progress.batch * size: (progress.batch + 1) * size]  # the global batch
            mine = indices[self.world.rank::self.world.world_size]  # the last batch of an epoch may be short
            batch = self._batch([self.train_features[i] for i in mine or indices[:1]])  # weighed 0 when not mine
            n_global, batch_tokens = self.world.sum([len(mine), int(batch["attention_mask"].sum()) if mine else 0])
            loss, grad_norm = self._step(batch, len(mine) / n_global)
            progress.batch, progress.epoch_loss, progress.epoch_batches = \
                progress.batch + 1, progress.epoch_loss + loss, progress.epoch_batches + 1
            elapsed, count = time.perf_counter() - started, count + 1
            tokens += int(batch_tokens)
            self._emit(StepEvent(result.steps, self.total_steps, loss, self.scheduler.get_last_lr()[0],
                                 tokens / max(elapsed, 1e-9), elapsed,
                                 elapsed / count * (self.total_steps - result.steps), grad_norm))
        return True

    def _step(self, batch: dict[str, torch.Tensor], share: float) -> tuple[float, float]:
        """One optimizer step on this rank's `share` of the global batch's examples; (the global batch's loss,
        gradient norm before clipping). DDP averages the ranks' gradients, hence the world size."""
        loss = self.trained_model(**batch).loss * share
        value = float(self.world.sum_(loss.detach().clone()))  # the same on every rank, so is the check
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {self.result.steps + 1}")
        self.optimizer.zero_grad(set_to_none=True)
        (loss * self.world.world_size).backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip or float("inf"))
        self.optimizer.step()
        self.scheduler.step()
        self.result.steps += 1
        return value, float(grad_norm)

    # ---- checkpoints -------------------------------------------------------------------------------------

    def _checkpoint(self, metrics: dict[str, float]) -> Path | None:
        """Rank 0 saves while the others wait at barriers; its path (None on the others)."""
        self.world.barrier()
        path = self._save(metrics) if self.world.is_writer else None
        self.world.barrier()
        return path

    def _save(self, metrics: dict[str, float]) -> Path:
        result = self.result
        state = {"step": result.steps, "epoch": result.epochs, "metrics": metrics,
                 "progress": asdict(self.progress), "optimizer": self.optimizer.state_dict(),
                 "scheduler": self.scheduler.state_dict(), "rng": capture_rng_state(),
                 "best": {"epoch": result.best_epoch, "metrics": result.best_metrics, "details": result.best_details,
                          "checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None}}
        info = save_checkpoint(self.run_dir, self.model, state, self.checkpoint_config)
        result.last_checkpoint = info.path
        self._emit(CheckpointEvent(result.steps, info.path, info.sha256, info.size, dict(metrics), info.state_sha256))
        return info.path

    def _restore(self, checkpoint: Path) -> None:
        state = load_checkpoint(checkpoint, self.model, map_location=self.device)
        if "progress" not in state:
            raise ValueError(f"{checkpoint.name} was written before fine-tuning runs could be resumed")
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.progress = _Progress(**state["progress"])
        old = self.progress.best_score
        if not isinstance(old, list):  # checkpoints from before the tie-break held one float, -inf for none yet
            self.progress.best_score = [] if old == -math.inf else [old]
        best, result = state["best"], self.result
        result.steps, result.epochs, result.last_checkpoint = int(state["step"]), int(state["epoch"]), checkpoint
        result.best_epoch, result.best_metrics, result.best_details = best["epoch"], best["metrics"], best["details"]
        result.best_checkpoint = Path(best["checkpoint"]) if best["checkpoint"] else None
        restore_rng_state(state["rng"])  # last, so nothing above draws from the restored streams
        self.world.decorrelate(self.config.seed)

    # ---- evaluation --------------------------------------------------------------------------------------

    @torch.no_grad()
    def predict_logits(self, features: Sequence[Feature]) -> tuple[list[torch.Tensor], float | None]:
        """Per-feature logits on the CPU, trimmed to each feature's length, and the mean loss when labelled."""
        self.model.eval()
        logits, losses = [], []
        for start in range(0, len(features), self.config.batch_size):
            chunk = features[start: start + self.config.batch_size]
            out = self.model(**self._batch(chunk))
            if out.loss is not None:
                losses.append(out.loss.item() * len(chunk))
            for f, x in zip(chunk, out.logits.float().cpu()):
                logits.append(x if x.dim() == 1 else x[: len(f["input_ids"])])
        return logits, (sum(losses) / len(features) if losses else None)

    def score_best(self, examples: Sequence, features: Sequence[Feature]) -> tuple[dict[str, float], dict]:
        """The best epoch's metrics and details on other data (the test set): its weights are loaded first, and
        what validation fitted with them (QA's no-answer threshold) is applied, not learned again."""
        load_checkpoint(self.result.best_checkpoint, self.model, map_location=self.device)
        logits, _ = self.predict_logits(features)
        return self.task.score(examples, features, logits, fitted=self.result.best_metrics)

    def evaluate(self) -> tuple[float | None, dict[str, float], dict]:
        logits, val_loss = self.predict_logits(self.val_features)
        metrics, details = self.task.score(self.val_examples, self.val_features, logits)
        return val_loss, metrics, details

