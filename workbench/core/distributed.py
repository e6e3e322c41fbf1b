"""Data-parallel training across the processes torchrun starts: who this process is, and what the ranks agree on.

torchrun (or `mlm-workbench train --nproc N`, which starts it) gives every process RANK, WORLD_SIZE, LOCAL_RANK
and MASTER_ADDR/PORT; `join_world` reads them and joins the process group (NCCL on CUDA, gloo on the CPU) with
a timeout, so a rank that died or hangs ends the others' collectives with an error instead of a hang. `Single`
stands for the one-process run, so the training loop asks the same questions either way:

- which rows of a global batch are this rank's (`shard`). The global batch is the one a single process draws,
  and the masks are a function of (seed, block, epoch), so N ranks see exactly the data and masks one process
  would, and the data position (epoch, cursor) means the same on any number of processes: a checkpoint
  resumes on another world size;
- the sums the ranks agree on (`sum`, on the CPU): masked-token counts, so each rank weighs its loss by the
  global count, and stop / pause requests, so every rank stops at the same step;
- whether this process writes (`is_writer`): rank 0 alone writes the database, the metrics and checkpoints.

A collective that fails because a peer is gone raises `PeerLost` (`is_peer_failure` also recognises the
errors DDP's own gradient all-reduce raises); the loop then ends the run `interrupted`.
"""

from __future__ import annotations

import inspect
import os
import time
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterable, Sequence

import torch
import torch.distributed as dist
from torch import nn

from workbench.core.checkpoints import load_checkpoint
from workbench.core.devices import DeviceError, resolve_device
from workbench.core.training_types import TrainControl
from workbench.settings.launch import DEFAULT_TIMEOUT_S

# Rank 0 may train a tokenizer and encode a corpus before the others get their first message.
SETUP_TIMEOUT = timedelta(hours=6)
PAUSE_POLL_S = 0.5
LAUNCHER_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


class PeerLost(RuntimeError):
    """A collective failed: another rank died, hung past the timeout or lost its connection."""


def launched_by_torchrun() -> bool:
    """True in a process torchrun started (it sets RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def is_peer_failure(exc: BaseException) -> bool:
    """A failure of the process group rather than of this rank's own work: DDP's gradient all-reduce raises
    plain RuntimeErrors from gloo ("Connection reset by peer") and DistErrors from NCCL."""
    if isinstance(exc, (PeerLost, dist.DistError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(word in text for word in ("gloo", "NCCL", "Connection"))


def check_launch(device_name: str, nproc: int, batch_size: int) -> None:
    """Refuse, before any process starts, a world this machine or the batch cannot make."""
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {nproc}")
    if batch_size % nproc:
        raise ValueError(f"--batch-size {batch_size} does not split evenly over --nproc {nproc}: the batch size "
                         "is the global batch, each process reads batch size / nproc blocks")
    name = device_name.strip().lower()
    if name.startswith("cuda:") and nproc > 1:
        raise DeviceError(f"--device {name} names one GPU; with --nproc {nproc} use --device cuda (process i "
                          "takes cuda:i)")
    if name == "mps":
        raise DeviceError("data-parallel training does not run on Apple MPS; use --device cpu")
    wants_cuda = name.startswith("cuda") or (name == "auto" and torch.cuda.is_available())
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if wants_cuda and nproc > gpus:
        there = ", ".join(torch.cuda.get_device_name(i) for i in range(gpus)) or "no CUDA device"
        raise DeviceError(f"--nproc {nproc} needs {nproc} GPUs for device {name}; this machine has {gpus} "
                          f"({there}); use --nproc {max(gpus, 1)} or --device cpu")


class Single:
    """The one-process run: every question answered locally."""

    rank, world_size, backend = 0, 1, None
    is_writer = True
    sharded = False  # each rank holds the whole model (rank 0 evaluates alone on it)

    def resolve_device(self, name: str) -> torch.device:
        return resolve_device(name)

    def shard(self, indices: list[int]) -> list[int]:
        return indices

    def sum(self, values: Sequence[float]) -> list[float]:
        return list(values)

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def accumulating(self, model: nn.Module, last: bool) -> AbstractContextManager:
        return nullcontext()

    def barrier(self) -> None:
        pass

    def plain(self, tensor: torch.Tensor) -> torch.Tensor:
        """A value computed from the parameters (the gradient norm), as one ordinary tensor."""
        return tensor

    def all_finite(self, parameters: Iterable[torch.Tensor]) -> bool:
        """Whether every weight is finite (each rank holds every weight)."""
        return bool(torch.stack([p.detach().isfinite().all() for p in parameters]).all())

    def saved_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[nn.Module | None, dict | None]:
        """What a checkpoint saves: the whole model and the optimizer's state dict (None on ranks that don't
        write)."""
        return model, optimizer.state_dict()

    def restore(self, checkpoint: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                device: torch.device) -> dict:
        """Load a checkpoint's weights and optimizer state; the training state dict, for the rest."""
        state = load_checkpoint(checkpoint, model, map_location=device)
        optimizer.load_state_dict(state["optimizer"])
        return state

    def gather(self, value: float) -> list[float]:
        return [value]

    def broadcast(self, value: bool) -> bool:
        return value

    def decorrelate(self, seed: int) -> None:
        """Ranks after the first draw their own dropout masks; rank 0 keeps the one-process stream."""
        if self.rank:
            torch.manual_seed((seed + self.rank) % 2**63)

    def requests(self, control: TrainControl) -> tuple[bool, bool]:
        """(paused, stopped) as asked of this process."""
        return control.paused.is_set(), control.stopped.is_set()

    def wait_while_paused(self, control: TrainControl) -> None:
        control.wait_while_paused()

    def share(self, plan: Any) -> Any:
        return plan

    def release_followers(self) -> None:
        pass


class DataParallel(Single):
    """This process as rank `rank` of `world_size`, after `join_world`."""

    def __init__(self, device: torch.device, backend: str, timeout: timedelta) -> None:
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.device, self.backend = device, backend
        self.is_writer = self.rank == 0
        # Agreements travel on the CPU (gloo) even when gradients go over NCCL: reading them never waits for the GPU.
        self._cpu = dist.new_group(backend="gloo", timeout=timeout)
        self._setup = dist.new_group(backend="gloo", timeout=SETUP_TIMEOUT)
        self._plan_sent = False

    def resolve_device(self, name: str) -> torch.device:
        return self.device

    def shard(self, indices: list[int]) -> list[int]:
        per_rank = len(indices) // self.world_size
        return indices[self.rank * per_rank: (self.rank + 1) * per_rank]

    def sum(self, values: Sequence[float]) -> list[float]:
        tensor = torch.tensor(list(values), dtype=torch.float64)
        self._collective(dist.all_reduce, tensor, group=self._cpu)
        return tensor.tolist()

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        self._collective(dist.all_reduce, tensor)
        return tensor

    def wrap(self, model: nn.Module) -> nn.Module:
        for module in model.modules():  # DDP's reducer wants dense gradients (the CPU lookup's are sparse)
            if isinstance(module, nn.Embedding):
                module.sparse = False
        ids = [self.device.index] if self.device.type == "cuda" else None
        never_trained = getattr(model, "never_trained", None)  # weights no loss reaches (ELECTRA's unused head)
        if never_trained is not None:  # no gradient comes for them: the reduction must not wait for one
            nn.parallel.DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, never_trained())
        # No buffer sync per forward: the model's only buffers are constant position ids.
        parameters = inspect.signature(nn.parallel.DistributedDataParallel).parameters
        no_sync = {"forward_sync_buffers": False} if "forward_sync_buffers" in parameters else \
            {"broadcast_buffers": False}  # torch before 2.13
        return nn.parallel.DistributedDataParallel(model, device_ids=ids, **no_sync)

    def accumulating(self, model: nn.Module, last: bool) -> AbstractContextManager:
        return nullcontext() if last else model.no_sync()  # gradients are all-reduced once per step

    def barrier(self) -> None:
        self._collective(dist.barrier, group=self._cpu)

    def gather(self, value: float) -> list[float]:
        values: list[Any] = [None] * self.world_size
        self._collective(dist.all_gather_object, values, value, group=self._cpu)
        return [float(v) for v in values]

    def broadcast(self, value: bool) -> bool:
        """Rank 0's decision (the others pass anything)."""
        return self.sum([float(value) if self.rank == 0 else 0.0])[0] > 0

    def requests(self, control: TrainControl) -> tuple[bool, bool]:
        """(paused, stopped) as asked of any rank: a signal may reach one process first."""
        paused, stopped = self.sum([float(control.paused.is_set()), float(control.stopped.is_set())])
        return paused > 0, stopped > 0

    def wait_while_paused(self, control: TrainControl) -> None:
        """Poll the agreement rather than block, so no collective waits longer than the timeout."""
        while True:
            paused, stopped = self.requests(control)
            if stopped or not paused:
                return
            time.sleep(PAUSE_POLL_S)

    def share(self, plan: Any) -> Any:
        """Rank 0's `plan`, on every rank (the others pass None)."""
        box = [plan if self.rank == 0 else None]
        self._plan_sent = True
        self._collective(dist.broadcast_object_list, box, src=0, group=self._setup)
        return box[0]

    def release_followers(self) -> None:
        """Rank 0 ended before sharing a plan (bad input, a failure): tell the waiting ranks there is none."""
        if self.rank == 0 and not self._plan_sent:
            try:
                self.share(None)
            except PeerLost:
                pass  # they are gone already

    @staticmethod
    def _collective(op: Any, *args: Any, **kwargs: Any) -> None:
        try:
            op(*args, **kwargs)
        except Exception as exc:
            raise PeerLost(f"another process of this run is gone ({type(exc).__name__}: {exc})") from exc


def join_world(device_name: str, timeout_s: float = DEFAULT_TIMEOUT_S, shard: bool = False) -> DataParallel:
    """Join the process group torchrun set up: NCCL on cuda:LOCAL_RANK, else gloo on the CPU; `shard`: the
    model sharded over the ranks (FSDP2, `workbench.core.sharding`) instead of copied."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_name)
    if device.type == "mps":
        raise DeviceError("data-parallel training does not run on Apple MPS; use --device cpu")
    timeout = timedelta(seconds=timeout_s)
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(f"local rank {local_rank} has no GPU: this machine has {torch.cuda.device_count()}")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", timeout=timeout, device_id=device)
        backend = "nccl"
    else:
        dist.init_process_group("gloo", timeout=timeout)
        backend = "gloo"
    if shard:
        from workbench.core.sharding import Sharded  # FSDP2's modules load only for a sharded run

        return Sharded(device, backend, timeout)
    return DataParallel(device, backend, timeout)


def leave_world() -> None:
    """Tear the process group down (after a failure too: the peers may already be gone)."""
    if dist.is_initialized():
        try:
            dist.destroy_process_group()
        except Exception:  # a group whose peers died may refuse a clean shutdown; the process ends anyway
            pass
