"""The fine-tuning loop: epochs over shuffled features, validation after each, the best epoch kept.

AdamW with BERT's decay groups and separate learning rates for the encoder (`lr`) and the new head (`head_lr`,
default `lr`), linear warm-up over `warmup_ratio` of all steps then linear decay to 0, gradient clipping. After
every epoch the validation set is scored (`tasks`), an `EpochEvent` carries the metrics and a checkpoint is
written (weights, {"step", "epoch", "metrics"}, and the caller's config); the best epoch by the task's main
metric is remembered, and with `early_stopping` N training ends after N epochs without improvement.
Listeners also get pretraining's `StepEvent` / `CheckpointEvent` / `StatusEvent`, so the same recorders and
progress bars work. `TrainControl.stop()` ends training after the current step (no checkpoint of a partial
epoch is written; fine-tuning runs are short and are restarted, not resumed).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from workbench.core.checkpoints import save_checkpoint
from workbench.core.devices import resolve_device
from workbench.core.finetune.encoding import Feature, collate
from workbench.core.optim import build_scheduler, no_decay_parameter_names
from workbench.core.training import CheckpointEvent, StatusEvent, StepEvent, TrainControl

HEAD_PREFIXES = ("classifier.", "qa_outputs.", "bert.pooler.")


@dataclass(frozen=True)
class FinetuneConfig:
    task: str = "classify"
    lr: float = 3e-5
    head_lr: float | None = None  # None: lr
    epochs: int = 3
    batch_size: int = 16
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_len: int = 128
    doc_stride: int | None = None  # qa: step between windows; None: max_len // 2
    max_answer_len: int = 30
    freeze_embeddings: bool = False
    freeze_layers: int = 0
    seed: int = 0
    early_stopping: int = 0  # epochs without improvement before stopping; 0: off
    grad_clip: float = 1.0
    device: str = "auto"

    def validate(self) -> None:
        checks = [("epochs", self.epochs >= 1, "an integer >= 1"), ("batch_size", self.batch_size >= 1, ">= 1"),
                  ("lr", self.lr > 0, "> 0"), ("head_lr", self.head_lr is None or self.head_lr > 0, "> 0"),
                  ("warmup_ratio", 0 <= self.warmup_ratio < 1, "in [0, 1)"),
                  ("weight_decay", self.weight_decay >= 0, ">= 0"), ("max_len", self.max_len >= 8, ">= 8"),
                  ("freeze_layers", self.freeze_layers >= 0, ">= 0"),
                  ("early_stopping", self.early_stopping >= 0, ">= 0"), ("grad_clip", self.grad_clip >= 0, ">= 0"),
                  ("doc_stride", self.doc_stride is None or self.doc_stride >= 1, ">= 1")]
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"--{name.replace('_', '-')} must be {allowed}, got {getattr(self, name)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FinetuneConfig:
        return cls(**data)


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
    status: str  # completed | stopped | failed
    epochs: int
    steps: int
    best_epoch: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    best_details: dict = field(default_factory=dict)
    best_checkpoint: Path | None = None
    message: str = ""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


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
                 control: TrainControl | None = None) -> None:
        config.validate()
        if not train_features or not val_features:
            raise ValueError("fine-tuning needs at least one training and one validation example")
        self.device = resolve_device(config.device)
        self.model, self.config, self.task = model.to(self.device), config, task
        self.train_features, self.val_examples, self.val_features = train_features, val_examples, val_features
        self.pad_id, self.run_dir, self.checkpoint_config = pad_id, Path(run_dir), checkpoint_config
        self.listeners, self.control = list(listeners), control or TrainControl()
        self.steps_per_epoch = math.ceil(len(train_features) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.optimizer = build_finetune_optimizer(model, config.lr, config.head_lr or config.lr, config.weight_decay)
        self.scheduler = build_scheduler(self.optimizer, round(config.warmup_ratio * self.total_steps), self.total_steps)

    def _emit(self, event: object) -> None:
        for listener in self.listeners:
            listener(event)

    def _batch(self, features: Sequence[Feature]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device) for k, v in collate(features, self.pad_id).items()}

    def run(self) -> FinetuneResult:
        """Train all epochs (or until stopped / early-stopped); never raises, failures give status `failed`."""
        self._emit(StatusEvent("running", ""))
        result = FinetuneResult("completed", 0, 0)
        try:
            self._epochs(result)
        except Exception as error:  # reported as a status, like pretraining; the caller shows the message
            result.status, result.message = "failed", f"{type(error).__name__}: {error}"
        self._emit(StatusEvent(result.status, result.message))
        return result

    def _epochs(self, result: FinetuneResult) -> None:
        best, patience = -math.inf, 0
        rng = random.Random(self.config.seed)
        for epoch in range(1, self.config.epochs + 1):
            order = list(range(len(self.train_features)))
            rng.shuffle(order)
            train_loss = self._train_epoch(order, result)
            if self.control.stopped.is_set():
                result.status = "stopped"
                return
            result.epochs = epoch
            val_loss, metrics, details = self.evaluate()
            score = metrics[self.task.main_metric]
            is_best = score > best
            self._emit(EpochEvent(epoch, result.steps, train_loss, val_loss, metrics, is_best))
            info = save_checkpoint(self.run_dir, self.model, {"step": result.steps, "epoch": epoch, "metrics": metrics},
                                   self.checkpoint_config)
            self._emit(CheckpointEvent(result.steps, info.path, info.sha256, info.size, dict(metrics)))
            if is_best:
                best, patience = score, 0
                result.best_epoch, result.best_metrics, result.best_details = epoch, metrics, details
                result.best_checkpoint = info.path
            else:
                patience += 1
                if self.config.early_stopping and patience >= self.config.early_stopping:
                    result.message = f"early stopping after epoch {epoch}"
                    return

    def _train_epoch(self, order: list[int], result: FinetuneResult) -> float:
        self.model.train()
        total, count, tokens, started = 0.0, 0, 0, time.perf_counter()
        for start in range(0, len(order), self.config.batch_size):
            if self.control.stopped.is_set():
                break
            batch = self._batch([self.train_features[i] for i in order[start: start + self.config.batch_size]])
            loss = self.model(**batch).loss
            if not torch.isfinite(loss):
                raise FloatingPointError(f"training loss became {loss.item()} at step {result.steps + 1}")
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip or float("inf"))
            self.optimizer.step()
            self.scheduler.step()
            result.steps += 1
            total, count = total + loss.item(), count + 1
            elapsed = time.perf_counter() - started
            tokens += int(batch["attention_mask"].sum())
            self._emit(StepEvent(result.steps, self.total_steps, loss.item(), self.scheduler.get_last_lr()[0],
                                 tokens / max(elapsed, 1e-9), elapsed,
                                 elapsed / count * (self.total_steps - result.steps), float(grad_norm)))
        return total / max(count, 1)

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

    def evaluate(self) -> tuple[float | None, dict[str, float], dict]:
        logits, val_loss = self.predict_logits(self.val_features)
        metrics, details = self.task.score(self.val_examples, self.val_features, logits)
        return val_loss, metrics, details
