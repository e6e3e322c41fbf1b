"""The plain data of a pretraining run, without torch: its events, result and control (its settings are
`workbench.settings.train.TrainConfig`).

Kept apart from `training.py` (the loop) so that the desktop window can take events and control a run before
torch is imported (app start, issue 6).
"""

from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

STATUSES = ("running", "paused", "completed", "stopped", "diverged", "failed", "interrupted")


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
    extra: Mapping[str, float] = field(default_factory=dict)  # the objective's own (ELECTRA: disc_loss, ...)


@dataclass(frozen=True)
class CheckpointEvent:
    step: int
    path: Path
    sha256: str  # of model.safetensors
    size: int  # bytes, all files
    metrics: dict[str, float]  # latest train_loss / val_loss / val_accuracy / val_perplexity known
    state_sha256: str | None = None  # of training_state.pt


@dataclass(frozen=True)
class StatusEvent:
    status: str  # one of STATUSES
    message: str


Event = StepEvent | EvalEvent | CheckpointEvent | StatusEvent
Listener = Callable[[Event], None]


@dataclass(frozen=True)
class TrainResult:
    status: str  # completed | stopped | diverged | failed | interrupted (another process was lost)
    steps: int
    train_loss: float | None
    val_loss: float | None
    val_accuracy: float | None
    val_perplexity: float | None
    unigram_baseline_loss: float | None
    tokens_per_second: float | None  # mean over this session's training time, all processes together
    last_checkpoint: Path | None
    message: str
    world_size: int = 1  # processes that trained together (torchrun ranks)
    backend: str | None = None  # their process group's: nccl or gloo; None for one process
    rank_tokens_per_second: tuple[float, ...] | None = None  # each rank's own, this session; None if unknown


class Flag:
    """An on/off flag with `threading.Event`'s `is_set` / `set` / `clear`, in shared memory when made with a
    multiprocessing context. No lock, no condition: a process killed at any moment (kill -9 is in the fault suite)
    cannot leave a held lock behind, nor a sleeper that multiprocessing's `Condition.notify` would wait for without
    a timeout, which would hang the window at its next Stop or close."""

    def __init__(self, sync: Any = None) -> None:
        self._value = sync.RawValue(ctypes.c_bool, False) if sync is not None else _LocalBool()

    def is_set(self) -> bool:
        return bool(self._value.value)

    def set(self) -> None:
        self._value.value = True

    def clear(self) -> None:
        self._value.value = False


class _LocalBool:
    value = False


class TrainControl:
    """Thread- (or process-) safe pause / resume / stop; the loop looks at it before every step."""

    POLL_S = 0.05  # how soon a paused loop notices resume or stop

    def __init__(self, sync: Any = None) -> None:
        """`sync`: None for a control shared by threads, or a multiprocessing context for one shared with a child
        process (pass it to the process when starting it)."""
        self.paused = Flag(sync)
        self.stopped = Flag(sync)

    def pause(self) -> None:
        self.paused.set()

    def resume(self) -> None:
        self.paused.clear()

    def stop(self) -> None:
        self.stopped.set()

    def wait_while_paused(self) -> None:
        """Sleep until resumed or stopped: polled, so that nothing blocks on a process that may be gone."""
        while self.paused.is_set() and not self.stopped.is_set():
            time.sleep(self.POLL_S)
