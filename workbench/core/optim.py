"""AdamW with BERT's parameter groups and a warmup + decay learning-rate schedule.

As in the original BERT recipe, biases and LayerNorm weights get no weight decay (decaying a
normalisation gain or an offset towards zero only hurts) while every matrix, embeddings included, does.
The schedule ramps the learning rate linearly from 0 over `warmup_steps`, then decays it to 0 at
`total_steps` (linearly or along a half cosine) or holds it constant, like HuggingFace's
`get_linear_schedule_with_warmup` / `get_cosine_schedule_with_warmup`. With a time budget the decay follows the
share of the budget spent instead of the step count.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from workbench.settings.train import SCHEDULES


def no_decay_parameter_names(model: nn.Module) -> set[str]:
    """Names of the parameters that get no weight decay: every bias and every LayerNorm weight."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            if param_name == "bias" or isinstance(module, nn.LayerNorm):
                names.add(f"{module_name}.{param_name}" if module_name else param_name)
    return names


def build_optimizer(model: nn.Module, lr: float, weight_decay: float,
                    betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6) -> torch.optim.AdamW:
    """AdamW over two parameter groups, [decayed, not decayed], using the fused kernel where possible."""
    no_decay = no_decay_parameter_names(model)
    # named_parameters() yields a tied weight once, so the decoder/embedding pair is optimised once.
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in params if n not in no_decay], "weight_decay": weight_decay},
        {"params": [p for n, p in params if n in no_decay], "weight_decay": 0.0},
    ]
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, fused=True)
    except RuntimeError:  # no fused kernel for this device or dtype
        return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps, foreach=True)


def decay(progress: float, schedule: str) -> float:
    """The factor after warm-up, `progress` of the way (0 to 1) through the decay."""
    progress = min(1.0, max(0.0, progress))
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def lr_multiplier(step: int, warmup_steps: int, total_steps: int, schedule: str = "linear") -> float:
    """The factor applied to the peak learning rate before optimizer step `step` (0-based)."""
    if step < warmup_steps:
        return step / warmup_steps
    return decay((step - warmup_steps) / max(1, total_steps - warmup_steps), schedule)


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    schedule: str = "linear", time_fraction: Callable[[], float] | None = None) -> LambdaLR:
    """LambdaLR with linear warmup from 0, then linear or cosine decay to 0 (or constant). With `time_fraction`
    (the share of a time budget spent, 0 to 1) the decay follows the clock instead of the step count, as
    Cramming fits its schedule to a budget; warm-up still counts steps."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if warmup_steps < 0 or total_steps < 1:
        raise ValueError(f"need warmup_steps >= 0 and total_steps >= 1, got {warmup_steps} and {total_steps}")
    if time_fraction is None:
        multiplier: Callable[[int], float] = lambda step: lr_multiplier(step, warmup_steps, total_steps, schedule)
    else:
        multiplier = lambda step: step / warmup_steps if step < warmup_steps else decay(time_fraction(), schedule)
    return LambdaLR(optimizer, multiplier)
