"""`--shard`: data-parallel training with the model sharded over the ranks (PyTorch's FSDP2, `fully_shard`), for
models whose weights, gradients and AdamW state do not fit one device as whole copies.

Each encoder layer is one unit of sharding and the rest (embeddings, the tied MLM head, pooler) the root unit, so
the tied decoder stays with its embedding. Every rank holds 1/N of each: a layer's weights are gathered for its
forward and backward and freed after, and its gradients are reduce-scattered (averaged, as DDP's are). What
changes for the training loop (`Sharded` answers the same questions as `DataParallel`):
- evaluation needs every rank (a forward gathers weights), so all ranks evaluate and rank 0 reports;
- a checkpoint is gathered whole to rank 0 (`get_model_state_dict` / `get_optimizer_state_dict` with
  `full_state_dict`) and written in the one-process format, so a sharded run resumes on one process, on DDP, or
  sharded on another number of ranks; resuming sharded loads the whole checkpoint on each rank and keeps its
  shard.
It runs on gloo (CPU) as on NCCL; fp16 with the grad scaler is refused (bf16 needs none).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import torch
from torch import nn
from torch.distributed.checkpoint.state_dict import (
    StateDictOptions,
    get_model_state_dict,
    get_optimizer_state_dict,
    set_model_state_dict,
    set_optimizer_state_dict,
)
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor

from workbench.core.checkpoints import load_checkpoint
from workbench.core.distributed import DataParallel
from workbench.core.modeling_bert import BertForMaskedLM

WHOLE = StateDictOptions(full_state_dict=True, cpu_offload=True)  # gathered to rank 0, on the CPU


def _parameter_names(model: nn.Module, optimizer: torch.optim.Optimizer) -> list[str]:
    """The names of the optimizer's parameters in its own order: the order a one-process state dict numbers."""
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    return [names[id(parameter)] for group in optimizer.param_groups for parameter in group["params"]]


def by_index(state: dict, names: list[str]) -> dict:
    """An optimizer state keyed by parameter name (DCP's) as `Optimizer.state_dict()` numbers it."""
    index = {name: i for i, name in enumerate(names)}
    return {"state": {index[name]: value for name, value in state["state"].items()},
            "param_groups": [{**group, "params": [index[name] for name in group["params"]]}
                             for group in state["param_groups"]]}


def by_name(state: dict, names: list[str]) -> dict:
    """The reverse of `by_index`."""
    return {"state": {names[i]: value for i, value in state["state"].items()},
            "param_groups": [{**group, "params": [names[i] for i in group["params"]]}
                             for group in state["param_groups"]]}


class Sharded(DataParallel):
    """This process as one rank of a sharded (FSDP2) world."""

    sharded = True  # a forward needs every rank: they evaluate together

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.backend = f"{self.backend}, sharded (FSDP2)"

    def wrap(self, model: nn.Module) -> nn.Module:
        for module in model.modules():  # the gradients are reduce-scattered: dense ones (the CPU lookup's are not)
            if isinstance(module, nn.Embedding):
                module.sparse = False
        for layer in model.bert.encoder.layer:
            fully_shard(layer)
        fully_shard(model)
        return model  # sharded in place: the module trained and the module saved are one

    @contextmanager
    def _accumulating(self, model: nn.Module) -> Iterator[None]:
        model.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)

    def accumulating(self, model: nn.Module, last: bool):
        return super().accumulating(model, True) if last else self._accumulating(model)

    def plain(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor.full_tensor() if isinstance(tensor, DTensor) else tensor

    def all_finite(self, parameters: Iterable[torch.Tensor]) -> bool:
        local = [p.to_local() if isinstance(p, DTensor) else p for p in parameters]
        finite = bool(torch.stack([p.detach().isfinite().all() for p in local if p.numel()]).all())
        return self.sum([0.0 if finite else 1.0])[0] == 0  # every rank's shard

    def saved_state(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple[nn.Module | None, dict | None]:
        weights = get_model_state_dict(model, options=WHOLE)  # collective: every rank takes part
        optimizer_state = get_optimizer_state_dict(model, optimizer, options=WHOLE)
        if not self.is_writer:
            return None, None
        whole = BertForMaskedLM(model.config)  # an ordinary module, as one process saves
        whole.load_state_dict(weights)
        return whole, by_index(optimizer_state, _parameter_names(model, optimizer))

    def restore(self, checkpoint: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                device: torch.device) -> dict:
        whole = BertForMaskedLM(model.config)
        state = load_checkpoint(checkpoint, whole)  # strict, the tied decoder included
        set_model_state_dict(model, whole.state_dict(), options=StateDictOptions(full_state_dict=True))
        set_optimizer_state_dict(model, optimizer, by_name(state["optimizer"], _parameter_names(model, optimizer)),
                                 options=StateDictOptions(full_state_dict=True))
        return state
