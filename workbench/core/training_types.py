"""The plain data of a pretraining run, without torch: its settings, events, result and control.

Kept apart from `training.py` (the loop) so that the desktop window and the CLI's argument parsing can build,
validate and remember settings before torch is imported (app start, issue 6). `training` re-exports these.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("linear", "cosine", "constant")
_DEVICE_NAME = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def is_valid_device_name(name: str) -> bool:
    """True when `name` is spelled like a device ("auto", "cpu", "cuda", "cuda:N", "mps")."""
    return bool(_DEVICE_NAME.match(name))


STATUSES = ("running", "paused", "completed", "stopped", "diverged", "failed")


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 1000
    batch_size: int = 32  # sequences per micro-batch; a step sees batch_size * grad_accum
    lr: float = 5e-4
    warmup_steps: int = 100
    schedule: str = "linear"
    weight_decay: float = 0.01
    adam_betas: tuple[float, float] = (0.9, 0.999)
    adam_eps: float = 1e-6
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    grad_accum: int = 1
    eval_every: int = 100  # 0: evaluate only at the end
    eval_batches: int = 20
    checkpoint_every: int = 500  # 0: checkpoint only at the end (and on stop)
    device: str = "auto"
    precision: str = "fp32"
    seed: int = 0
    log_every: int = 10

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field and its allowed values."""
        for name, low in (("steps", 1), ("batch_size", 1), ("warmup_steps", 0), ("grad_accum", 1),
                          ("eval_every", 0), ("eval_batches", 1), ("checkpoint_every", 0), ("log_every", 1),
                          ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name, low, open_low in (("lr", 0.0, True), ("weight_decay", 0.0, False), ("adam_eps", 0.0, True),
                                    ("grad_clip", 0.0, False)):
            value = getattr(self, name)
            if not _is_number(value) or value < low or (open_low and value == low):
                raise ValueError(f"{name} must be a number {'>' if open_low else '>='} {low:g}, got {value!r}")
        betas = self.adam_betas
        if len(betas) != 2 or not all(_is_number(b) and 0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"adam_betas must be two numbers in [0, 1), got {betas!r}")
        for name, allowed in (("schedule", SCHEDULES), ("precision", PRECISIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        if not isinstance(self.device, str) or not is_valid_device_name(self.device.strip().lower()):
            raise ValueError(f"device must be auto, cpu, cuda, cuda:N or mps; got {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "adam_betas": list(self.adam_betas)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        values = dict(data)
        if "adam_betas" in values:
            values["adam_betas"] = tuple(values["adam_betas"])
        config = cls(**values)
        config.validate()
        return config


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class StepEvent:
    step: int
    total_steps: int
    loss: float  # mean training loss over the steps since the previous StepEvent
    lr: float  # learning rate of the last of those steps
    tokens_per_second: float  # real (attention_mask) tokens, pauses, evals and checkpoints excluded
    elapsed: float  # seconds of training so far, earlier sessions of a resumed run included
    eta: float  # seconds to the last step at the current speed
    grad_norm: float  # global gradient norm of the last step, before clipping


@dataclass(frozen=True)
class EvalEvent:
    step: int
    val_loss: float
    val_accuracy: float
    val_perplexity: float
    unigram_baseline_loss: float | None  # None without unigram counts


@dataclass(frozen=True)
class CheckpointEvent:
    step: int
    path: Path
    sha256: str  # of model.safetensors
    size: int  # bytes, all files
    metrics: dict[str, float]  # latest train_loss / val_loss / val_accuracy / val_perplexity known


@dataclass(frozen=True)
class StatusEvent:
    status: str  # one of STATUSES
    message: str


Event = StepEvent | EvalEvent | CheckpointEvent | StatusEvent
Listener = Callable[[Event], None]


@dataclass(frozen=True)
class TrainResult:
    status: str  # completed | stopped | diverged | failed
    steps: int
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    val_perplexity: float | None
    unigram_baseline_loss: float | None
    tokens_per_second: float | None  # mean over this session's training time
    last_checkpoint: Path | None
    message: str


class TrainControl:
    """Thread- (or process-) safe pause / resume / stop; the loop looks at it before every step."""

    def __init__(self, sync: Any = threading) -> None:
        """`sync` makes the Events and the Condition: `threading`, or a multiprocessing context for a control
        shared with a child process (pass it to the process when starting it)."""
        self.paused = sync.Event()
        self.stopped = sync.Event()
        self._changed = sync.Condition()

    def _set(self, event: threading.Event, on: bool) -> None:
        with self._changed:
            if on:
                event.set()
            else:
                event.clear()
            self._changed.notify_all()

    def pause(self) -> None:
        self._set(self.paused, True)

    def resume(self) -> None:
        self._set(self.paused, False)

    def stop(self) -> None:
        self._set(self.stopped, True)

    def wait_while_paused(self) -> None:
        """Sleep until resumed or stopped (woken at once by the methods above)."""
        with self._changed:
            while self.paused.is_set() and not self.stopped.is_set():
                self._changed.wait(timeout=1.0)  # also notices the Events being set directly
