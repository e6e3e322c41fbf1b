"""The pretraining loop: masked-LM steps, evaluation, checkpoints, events and cooperative control.

`Trainer.run()` trains a `BertForMaskedLM` (by `TrainConfig.objective`: masked LM, causal LM, or an ELECTRA
generator and discriminator; core/objectives.py) on packed blocks for `TrainConfig.steps` optimizer steps. Blocks
come in a fresh seeded permutation each epoch and are masked on the CPU by a counter-based `Masker`, so the
whole run is a function of its seed: a run stopped at step N and resumed from its checkpoint (weights,
optimizer, scheduler, grad scaler, RNG states, data position) reproduces the uninterrupted loss curve.
Progress goes to listeners as frozen dataclasses of plain data (`StepEvent`, `EvalEvent`, `CheckpointEvent`,
`StatusEvent`, delivered on the training thread), and a `TrainControl` pauses, resumes or stops the loop
from any thread within one step.
Losses stay on the device between log points (no per-step sync); every log, eval and checkpoint first
checks them, so a NaN/inf ends the run as "diverged" naming the step, and bad weights are never saved.
Evaluation uses static masks on the first `eval_batches` validation batches so numbers compare across
steps, next to a unigram baseline: the loss of guessing every masked token from corpus frequencies alone.
Under torchrun the loop runs on every rank with a `DataParallel` world (core/distributed.py): each rank takes
its share of the global batch, the logged loss is the global mean, and rank 0 alone evaluates and saves.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.checkpoints import (
    capture_rng_state,
    checkpoint_step,
    load_companion,
    remove_partial_saves,
    restore_rng_state,
    save_checkpoint,
)
from workbench.core.devices import describe_device, resolve_precision
from workbench.core.distillation import Distiller
from workbench.core.distributed import Single, is_peer_failure
from workbench.core.epochs import EpochSampler, seed_everything
from workbench.core.loss_window import LossWindow
from workbench.core.masking import MaskedBatch, Masker
from workbench.core.objectives import EvalTally, next_token_batch, objective_for, sampling_draws
from workbench.core.optim import build_optimizer, build_scheduler
from workbench.core.storage import StorageError
from workbench.core.training_types import (
    CheckpointEvent,
    EvalEvent,
    Event,
    Listener,
    StatusEvent,
    StepEvent,
    TrainControl,
    TrainResult,
)
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig
from workbench.settings.train import TrainConfig

log = logging.getLogger(__name__)

class BlockData(Protocol):
    """What the loop needs from a data set, e.g. `PackedBlocks`."""

    def __len__(self) -> int: ...

    def get_batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]: ...  # input_ids, attention_mask (B, T)


class MaskingTokenizer(Protocol):
    """What the loop needs from a tokenizer, e.g. `WorkbenchTokenizer`."""

    mask_id: int
    special_ids: list[int]

    @property
    def vocab_size(self) -> int: ...

    def word_start_mask(self, input_ids: torch.Tensor) -> torch.Tensor: ...


BLOWN_UP_FACTOR, BLOWN_UP_STEPS = 3.0, 100


def unigram_entropy(log_probs: torch.Tensor) -> float:
    """The loss of guessing every token by its corpus frequency: -sum p log p, in nats."""
    p = log_probs.exp()
    return float(-(p * log_probs.nan_to_num(neginf=0.0)).sum())


def unigram_log_probs(counts: np.ndarray | Sequence[int], special_ids: Sequence[int]) -> torch.Tensor:
    """log p(token) under add-one smoothed corpus frequencies, specials given p = 0 (-inf). (V,) float64"""
    smoothed = torch.as_tensor(np.asarray(counts, dtype=np.float64)) + 1.0
    smoothed[list(special_ids)] = 0.0
    return (smoothed / smoothed.sum()).log()


class Trainer:
    """Pretrains a `BertForMaskedLM` with the objective `train_config.objective` names (masked LM, causal LM or
    ELECTRA: core/objectives.py); construct (validates, seeds, builds on the device), then `run()`."""

    def __init__(self, model_config: BertConfig, train_config: TrainConfig, masking_config: MaskingConfig,
                 train_data: BlockData, val_data: BlockData | None, tokenizer: MaskingTokenizer, run_dir: Path,
                 listeners: Sequence[Listener] = (), control: TrainControl | None = None,
                 unigram_counts: np.ndarray | None = None, extra_checkpoint_config: dict | None = None,
                 world: Single | None = None, distiller: Distiller | None = None) -> None:
        self.world = world or Single()
        if distiller is not None and train_config.objective != "mlm":
            raise ValueError(f"distillation teaches a masked LM at its masked positions; the objective "
                             f"{train_config.objective!r} has no such positions: use --objective mlm")
        _check_inputs(model_config, train_config, train_data, tokenizer, unigram_counts, extra_checkpoint_config,
                      self.world.world_size)
        self.config, self.masking_config = train_config, masking_config
        self.train_data, self.val_data, self.tokenizer = train_data, val_data, tokenizer
        self.run_dir, self.listeners = Path(run_dir), list(listeners)
        self.control = control or TrainControl()
        self.device = self.world.resolve_device(train_config.device)
        self.precision = resolve_precision(train_config.precision, self.device)
        if self.world.sharded and train_config.objective == "electra":
            raise ValueError("a sharded run (--shard) trains a masked or causal LM; ELECTRA's generator and "
                             "discriminator train data-parallel without --shard")
        if self.world.sharded and self.precision.use_grad_scaler:
            raise ValueError("a sharded run (--shard) trains in fp32 or bf16: fp16's grad scaler is not supported "
                             "with it")
        self._masker_args = (tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids)
        self._training_masker: Masker | None = None  # at the rate of the latest step (a schedule changes it)
        # the held-out checks mask at one fixed rate, whatever the training rate, so runs compare on one scale
        self.eval_masker = Masker(replace(masking_config, dynamic=False,
                                          mlm_probability=masking_config.eval_mlm_probability), *self._masker_args)
        self.unigram = None if unigram_counts is None else unigram_log_probs(unigram_counts, tokenizer.special_ids)
        self.objective = objective_for(train_config)  # what the model learns (core/objectives.py)
        model_config = self.objective.model_config(model_config)
        self.checkpoint_config = {"model": model_config.to_dict(), "train": train_config.to_dict(),
                                  "masking": masking_config.to_dict(), **(extra_checkpoint_config or {})}

        seed_everything(train_config.seed)
        self.model = self.objective.build_model(model_config).for_training(self.device)  # unwrapped
        self.trained_model = self.world.wrap(self.model)
        # distillation: the loss comes from a frozen teacher's predictions as well (core/distillation.py)
        self.distiller = None if distiller is None else distiller.to(self.device)
        self.world.decorrelate(train_config.seed)
        self.optimizer = build_optimizer(self.model, train_config.lr, train_config.weight_decay,
                                         train_config.adam_betas, train_config.adam_eps)
        self._elapsed_before, self._active_since = 0.0, time.perf_counter()
        budget = train_config.time_budget
        self._budget_s = None if budget is None else budget * 60.0
        self.scheduler = build_scheduler(self.optimizer, train_config.warmup_steps, train_config.steps,
                                         train_config.schedule, self._time_fraction if budget else None,
                                         train_config.decay_fraction)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision.use_grad_scaler)
        self.sampler = EpochSampler(len(train_data), train_config.batch_size, train_config.seed)

        self.step, self.last_checkpoint, self._checkpointed_step = 0, None, -1
        self._window = LossWindow(0.0)
        self._train_loss: float | None = None
        # A loss this far above what guessing by frequency costs, for BLOWN_UP_STEPS steps after warm-up, is a
        # divergence that stayed finite (--lr 50 once "completed" at a loss of 43,000).
        self._loss_limit = BLOWN_UP_FACTOR * self.objective.chance_loss(
            unigram_entropy(self.unigram) if self.unigram is not None else math.log(model_config.vocab_size))
        self._steps_above_limit = 0
        self._eval: EvalEvent | None = None
        self._session_tokens, self._session_seconds, self._rank_tokens = 0, 0.0, 0

    # ---- the loop ----------------------------------------------------------------------------------------

    def run(self, resume_from: Path | None = None) -> TrainResult:
        """Train to `steps` (from a checkpoint when given); never raises for a failed run, returns it. Two things
        raise instead: a checkpoint that cannot be read (before any event, so the run keeps its status), and a
        disk that refuses a write (`StorageError`, after the run is reported `stopped`: what it saved is intact)."""
        if resume_from is not None:
            self._restore(Path(resume_from))
        storage_error = None
        try:
            if self.world.is_writer:
                remove_partial_saves(self.run_dir)
            self._emit(StatusEvent("running", self._start_message(resume_from)))
            status, message = self._train()
        except StorageError as exc:  # the disk failed, not the run
            storage_error = exc
            status, message = "stopped", f"{exc}; the run is stopped and {self._intact()}"
        except Exception as exc:  # a failed run is a result the front ends show, not a crash
            if self.world.world_size > 1 and is_peer_failure(exc):  # resumable from the last checkpoint
                log.warning("rank %d: another process was lost at step %d: %s", self.world.rank, self.step, exc)
                status, message = "interrupted", f"step {self.step}: another process of this run was lost: {exc}"
            else:
                log.exception("training failed at step %d", self.step)
                status, message = "failed", f"step {self.step}: {type(exc).__name__}: {exc}"
        try:
            self._emit(StatusEvent(status, message))
        except Exception:  # a listener broken at the very end must not hide the result
            log.exception("a listener failed on the final status event")
        if storage_error is not None:
            raise StorageError(storage_error.errno, message) from storage_error
        return self._result(status, message)

    def _intact(self) -> str:
        return f"step-{checkpoint_step(self.last_checkpoint)} is intact" if self.last_checkpoint else \
            "no checkpoint was saved yet"

    def _train(self) -> tuple[str, str]:
        self.trained_model.train()
        self._restart_clock()
        self._window = LossWindow(self._elapsed())
        if self.step >= self.config.steps and self.val_data is not None:
            self._evaluate()  # resumed at the end: nothing to train, still report where the model is
        while self.step < self.config.steps and not self._out_of_time():
            if self._should_stop():
                return self._stop()
            self._train_step()
            diverged = self._end_of_step(final=self.step == self.config.steps or self._out_of_time())
            if diverged:
                return "diverged", diverged
        if self._budget_s is not None:
            return "completed", f"in the {self.config.time_budget:g}-minute budget"
        return "completed", ""  # the status and the step say it all ("completed: completed 3000 steps" did not)

    def _time_fraction(self) -> float:
        """The share of the time budget spent (the budget run's progress)."""
        return min(1.0, self._elapsed() / self._budget_s)

    def _out_of_time(self) -> bool:
        # the ranks agree (rank 0's clock): each rank's own clock could end it one step apart
        return self._budget_s is not None and self.world.broadcast(self._elapsed() >= self._budget_s)

    def _should_stop(self) -> bool:
        paused, stopped = self.world.requests(self.control)  # asked of any rank, agreed by all
        if paused and not stopped:
            self._emit(StatusEvent("paused", f"paused at step {self.step}"))
            self._elapsed_before = self._elapsed()  # the clock stands still while paused
            self.world.wait_while_paused(self.control)
            self._restart_clock()
            paused, stopped = self.world.requests(self.control)
            if not stopped:
                self._emit(StatusEvent("running", f"resumed at step {self.step}"))
        return stopped

    def _stop(self) -> tuple[str, str]:
        diverged = self._divergence()
        if diverged:
            return "diverged", diverged
        if self._window.losses:
            self._log()
        if self._checkpointed_step != self.step and self._weights_finite():  # at step 0 too: a run stopped
            self._checkpoint()  # before its first step resumes
        return "stopped", ""

    def _on_device(self, batch: MaskedBatch) -> dict[str, torch.Tensor | None]:
        """The model's inputs on the training device. A batch without padding (every packed block but the last)
        goes without an attention mask, decided here on the CPU: the model then builds no mask, and on a GPU the
        fused attention may take its fastest kernel (the model's own check of the mask would wait for the GPU)."""
        mask = None if bool(batch.attention_mask.all()) else batch.attention_mask.to(self.device)
        inputs = {"input_ids": batch.input_ids.to(self.device), "attention_mask": mask,
                  "labels": batch.labels.to(self.device)}
        return inputs if batch.draws is None else {**inputs, "draws": batch.draws.to(self.device)}

    def _train_step(self) -> None:
        cfg, world = self.config, self.world
        batches = []
        for _ in range(cfg.grad_accum):
            indices, epoch = self.sampler.next_batch()  # the global batch; this rank reads its share
            batches.append(self._masked(self.train_data, world.shard(indices), epoch, self._masker()))
        counts = [int((b.labels != -100).sum()) for b in batches]
        reals = [int(b.attention_mask.sum()) for b in batches]
        local_tokens = sum(reals)
        total, tokens = world.sum([sum(counts), local_tokens])  # over all ranks
        total = max(total, 1)
        step_loss = torch.zeros((), device=self.device)
        for i, (batch, count, real) in enumerate(zip(batches, counts, reals)):
            with world.accumulating(self.trained_model, last=i == len(batches) - 1), self._autocast():
                inputs = self._on_device(batch)
                out = self.trained_model(**inputs)
                batch_loss = out.loss if self.distiller is None else self.distiller.loss(out, inputs)
            # weight by masked (and, for ELECTRA's discriminator, real) tokens so accumulation and the ranks
            # together equal one big batch's mean; DDP averages the ranks' gradients, hence the world size
            loss = self.objective.share_of_step(out, batch_loss, count / total, real / max(tokens, 1))
            self.scaler.scale(loss * world.world_size).backward()
            step_loss += loss.detach().float()
        world.sum_(step_loss)  # the global mean loss, the same on every rank (so are their decisions)
        self.scaler.unscale_(self.optimizer)
        grad_norm = world.plain(torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip or math.inf))
        scale = self.scaler.get_scale() if self.scaler.is_enabled() else None
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        lr = self.optimizer.param_groups[0]["lr"]
        if scale is None or self.scaler.get_scale() >= scale:  # fp16: a step the scaler skipped keeps its rate,
            self.scheduler.step()  # as the Hugging Face Trainer does (the scale only falls on a skipped step)
        self.step += 1
        self._rank_tokens += local_tokens
        self._window.add(self.step, step_loss, grad_norm.detach(), lr, int(tokens))

    def _masker(self) -> Masker:
        """The masker of this step's training rate (the schedule's, at the share of the run done)."""
        done = self._time_fraction() if self._budget_s is not None else self.step / self.config.steps
        rate = self.masking_config.rate_at(done)
        if self.masking_config.rate_schedule is not None:
            rate = round(rate, 3)  # a linear schedule moves in steps of 0.1%
        if self._training_masker is None or self._training_masker.config.mlm_probability != rate:
            self._training_masker = Masker(replace(self.masking_config, mlm_probability=rate), *self._masker_args)
        return self._training_masker

    def _masked(self, data: BlockData, indices: list[int], epoch: int, masker: Masker) -> MaskedBatch:
        batch = data.get_batch(indices)
        input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]  # (B, T) each
        if self.objective.name == "clm":  # nothing is masked: every next token is a label
            return next_token_batch(input_ids, attention_mask, self.tokenizer.special_ids)
        word_start = None if self.masking_config.strategy == "token" else self.tokenizer.word_start_mask(input_ids)
        seq_ids = torch.tensor(indices, dtype=torch.long)
        batch = masker(input_ids, attention_mask, word_start, seq_ids, epoch)
        if self.objective.name == "electra":  # the generator samples from per-block draws, as the masks are drawn
            batch = replace(batch, draws=sampling_draws(self.config.seed, seq_ids, epoch, input_ids.shape[1]))
        return batch

    def _autocast(self) -> torch.autocast:
        dtype = self.precision.autocast_dtype
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _end_of_step(self, final: bool) -> str | None:
        """Log, evaluate and checkpoint as due; a divergence message instead if the loss went bad."""
        cfg, step = self.config, self.step
        log_due = final or step % cfg.log_every == 0
        eval_due = self.val_data is not None and (final or (cfg.eval_every > 0 and step % cfg.eval_every == 0))
        checkpoint_due = final or (cfg.checkpoint_every > 0 and step % cfg.checkpoint_every == 0)
        if not (log_due or eval_due or checkpoint_due):
            return None
        diverged = self._divergence()
        if diverged:
            return diverged
        if log_due:
            self._log()
            diverged = self._blown_up(final)
            if diverged:
                return diverged
        if checkpoint_due and not self._weights_finite():  # never save non-finite weights as the last good ones
            return self._diverged_message("the weights stopped being finite", self.step)
        checkpoint_due = checkpoint_due and self._steps_above_limit == 0  # nor a blown-up model
        for due, action in ((eval_due, self._evaluate), (checkpoint_due, self._checkpoint)):
            if due:
                started = self._elapsed()
                action()
                self._window.excluded += self._elapsed() - started
        return None

    def _divergence(self) -> str | None:
        bad = self._window.check()
        if bad is None:
            return None
        step, value = bad
        return self._diverged_message(f"the loss became {value}", step)

    def _blown_up(self, final: bool) -> str | None:
        """After warm-up, a training loss above the limit for BLOWN_UP_STEPS steps in a row, or at the end, is a
        divergence."""
        if self.step <= self.config.warmup_steps or self._train_loss is None:
            return None
        above = self._train_loss > self._loss_limit
        self._steps_above_limit = self._steps_above_limit + self.config.log_every if above else 0
        if self._steps_above_limit < BLOWN_UP_STEPS and not (final and above):
            return None
        return self._diverged_message(f"the loss stayed above {self._loss_limit:.1f} ({BLOWN_UP_FACTOR:g}x the "
                                      f"unigram baseline) for {self._steps_above_limit} steps, "
                                      f"{self._train_loss:.4g} now", self.step)

    def _weights_finite(self) -> bool:
        return self.world.all_finite(self.model.parameters())

    def _diverged_message(self, what: str, step: int) -> str:
        kept = f"the last good checkpoint is {self.last_checkpoint.name}" if self.last_checkpoint else \
            "no checkpoint was saved"
        return (f"training diverged: {what} at step {step}; {kept}. Try a lower lr, a longer warmup or gradient "
                "clipping.")

    # ---- reporting ---------------------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return self._elapsed_before + time.perf_counter() - self._active_since

    def _restart_clock(self) -> None:
        self._active_since = time.perf_counter()

    def _log(self) -> None:
        window, now = self._window, self._elapsed()
        n_steps = len(window.losses)
        seconds = max(now - window.start - window.excluded, 1e-9)
        self._train_loss = sum(window.losses) / n_steps
        self._session_tokens += window.tokens
        self._session_seconds += seconds
        eta = (self.config.steps - self.step) * seconds / n_steps
        total = self.config.steps
        if self._budget_s is not None:  # the end is the budget's, unless the step limit comes first
            by_time = round(self.step / max(self._time_fraction(), 1e-9))
            eta, total = min(eta, max(0.0, self._budget_s - now)), max(self.step, min(total, by_time))
        self._emit(StepEvent(self.step, total, self._train_loss, window.lr, window.tokens / seconds,
                             now, eta, float(window.grad_norm)))
        self._window = LossWindow(self._elapsed())

    @torch.inference_mode()
    def evaluate(self) -> EvalEvent | None:
        """Metrics on the first eval_batches validation batches with static masks; None without any."""
        if self.val_data is None:
            return None
        size = self.config.batch_size
        limit = min(len(self.val_data), size * self.config.eval_batches)
        loss_sum, correct, n, unigram_sum = 0.0, 0, 0, 0.0
        tally = EvalTally()  # ELECTRA's discriminator numbers
        self.model.eval()
        try:
            for start in range(0, limit, size):
                batch = self._masked(self.val_data, list(range(start, min(start + size, limit))), 0, self.eval_masker)
                targets = batch.labels[batch.labels != -100]  # (N,) in the model's row-major order
                if targets.numel() == 0:
                    continue
                with self._autocast():
                    out = self.model(**self._on_device(batch))
                logits = out.logits.float()  # (N, V)
                tally.add(out)
                on_device = targets.to(self.device)
                loss_sum += float(F.cross_entropy(logits, on_device, reduction="sum"))
                correct += int((logits.argmax(-1) == on_device).sum())
                n += targets.numel()
                if self.unigram is not None:
                    unigram_sum -= float(self.unigram[targets].sum())
        finally:
            self.model.train()
        if n == 0:
            return None
        loss = loss_sum / n
        unigram = unigram_sum / n if self.unigram is not None else None
        return EvalEvent(self.step, loss, correct / n, math.exp(min(loss, 700.0)), unigram, tally.metrics())

    def _evaluate(self) -> None:
        if not (self.world.is_writer or self.world.sharded):
            return  # rank 0 evaluates on its whole model; the others go on to the next step's agreement
        event = self.evaluate()  # a sharded model's forward needs every rank; rank 0 reports
        if event is not None and self.world.is_writer:
            self._eval = event
            self._emit(event)

    def _metrics(self) -> dict[str, float]:
        metrics = {"train_loss": self._train_loss}
        if self._eval is not None:
            metrics.update(val_loss=self._eval.val_loss, val_accuracy=self._eval.val_accuracy,
                           val_perplexity=self._eval.val_perplexity, **self._eval.extra)
        return {k: v for k, v in metrics.items() if v is not None}

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    def _start_message(self, resume_from: Path | None) -> str:
        where = f"{describe_device(self.device)}, {self.config.precision}"
        if resume_from is None and self._budget_s is not None:
            return f"training for {self.config.time_budget:g} minutes (at most {self.config.steps} steps) on {where}"
        if resume_from is None:
            return f"{self.config.steps:,} steps on {where}"
        return f"resumed at step {self.step:,} of {self.config.steps:,} on {where}"

    def _result(self, status: str, message: str) -> TrainResult:
        ev = self._eval
        tokens_per_second = self._session_tokens / self._session_seconds if self._session_seconds else None
        return TrainResult(status, self.step, self._train_loss, ev and ev.val_loss, ev and ev.val_accuracy,
                           ev and ev.val_perplexity, ev and ev.unigram_baseline_loss, tokens_per_second,
                           self.last_checkpoint, message, self.world.world_size, self.world.backend,
                           self._rank_throughput(status))

    def _rank_throughput(self, status: str) -> tuple[float, ...] | None:
        """Each rank's own tokens/s; None when a rank may be gone (a gather would wait for it)."""
        if status in ("failed", "interrupted") or not self._session_seconds:
            return None
        return tuple(self.world.gather(self._rank_tokens / self._session_seconds))

    # ---- checkpoints -------------------------------------------------------------------------------------

    def _checkpoint(self) -> None:
        self.world.barrier()  # every rank has finished the step; only rank 0 writes
        model, optimizer_state = self.world.saved_state(self.model, self.optimizer)  # sharded: gathered to rank 0
        if self.world.is_writer:
            self._save(model, optimizer_state)
        self._checkpointed_step = self.step
        self.world.barrier()

    def _save(self, model: nn.Module, optimizer_state: dict) -> None:
        state = {
            "step": self.step, "epoch": self.sampler.epoch, "cursor": self.sampler.cursor,
            "elapsed": self._elapsed(), "optimizer": optimizer_state,
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "rng": capture_rng_state(),
        }
        model, companions = self.objective.saved_parts(model)  # ELECTRA: the discriminator, the generator beside
        info = save_checkpoint(self.run_dir, model, state, self.checkpoint_config, companions)
        # recorded first: a checkpoint the store never heard of is not one a resume can start from
        self._emit(CheckpointEvent(info.step, info.path, info.sha256, info.size, self._metrics(), info.state_sha256))
        self.last_checkpoint, self._checkpointed_step = info.path, self.step

    def _restore(self, checkpoint: Path) -> None:
        model, companions = self.objective.saved_parts(self.model)
        for name, companion in companions.items():
            load_companion(checkpoint, name, companion, self.device)
        state = self.world.restore(checkpoint, model, self.optimizer, self.device)
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.step = self._checkpointed_step = int(state["step"])
        self.sampler.epoch, self.sampler.cursor = int(state["epoch"]), int(state["cursor"])
        self._elapsed_before = float(state["elapsed"])
        self.last_checkpoint = checkpoint
        restore_rng_state(state["rng"])  # last, so nothing above draws from the restored streams
        self.world.decorrelate(self.config.seed)


def _check_inputs(model_config: BertConfig, train_config: TrainConfig, train_data: BlockData,
                  tokenizer: MaskingTokenizer, unigram_counts: np.ndarray | None, extra: dict | None,
                  world_size: int) -> None:
    if train_config.batch_size % world_size:
        raise ValueError(f"batch_size={train_config.batch_size} does not split evenly over {world_size} processes "
                         "(it is the global batch; each process reads batch_size / processes blocks)")
    if len(train_data) < train_config.batch_size:
        blocks = len(train_data)
        raise ValueError(f"The training text makes only {blocks} block{'' if blocks == 1 else 's'} of tokens, fewer "
                         f"than the batch size of {train_config.batch_size}: lower the batch size, or add text to the "
                         "corpus")
    if model_config.vocab_size < tokenizer.vocab_size:
        raise ValueError(f"model vocab_size={model_config.vocab_size} is smaller than the tokenizer's "
                         f"{tokenizer.vocab_size}")
    if unigram_counts is not None and len(unigram_counts) != tokenizer.vocab_size:
        raise ValueError(f"unigram_counts has {len(unigram_counts)} entries, the tokenizer {tokenizer.vocab_size}")
    clash = sorted({"model", "train", "masking"} & set(extra or {}))
    if clash:
        raise ValueError(f"extra_checkpoint_config may not set {', '.join(clash)}: the trainer writes those")
