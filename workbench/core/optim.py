"""AdamW with BERT's parameter groups and a warmup + decay learning-rate schedule.

As in the original BERT recipe, biases and LayerNorm weights get no weight decay (decaying a
normalisation gain or an offset towards zero only hurts) while every matrix, embeddings included, does.
The schedule ramps the learning rate linearly from 0 over `warmup_steps`, then decays it to 0 at
`total_steps` (linearly or along a half cosine) or holds it constant, like HuggingFace's
`get_linear_schedule_with_warmup` / `get_cosine_schedule_with_warmup`. Two more shapes:
- `wsd` (warmup-stable-decay: Hu et al. 2024, MiniCPM; Hägele et al. 2024) warms up, holds the peak, and decays
  linearly to 0 over the last `decay_fraction` of what follows the warm-up;
- `one-cycle` (Cramming, Geiping & Goldstein 2022, after Smith & Topin's one-cycle) is a triangle: linear up to
  the peak at half the run, linear down to 0 at its end. The rise is its warm-up, so `warmup_steps` is not used.
With a time budget the progress is the share of the budget spent instead of the step count (the one-cycle
triangle too, as Cramming's `budget-one-cycle`); other schedules' warm-ups still count steps.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from workbench.settings.train import DECAY_FRACTION, SCHEDULES


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


def decay(progress: float, schedule: str, decay_fraction: float = DECAY_FRACTION) -> float:
    """The factor after warm-up, `progress` of the way (0 to 1) through the rest of the run."""
    progress = min(1.0, max(0.0, progress))
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1.0 - progress
    if schedule == "wsd":  # stable at the peak, then linear to 0 over the last decay_fraction
        return min(1.0, (1.0 - progress) / decay_fraction)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def one_cycle(progress: float) -> float:
    """Cramming's triangle: 0 at the start, the peak at half the run (0 to 1), 0 at its end."""
    return 1.0 - abs(2.0 * min(1.0, max(0.0, progress)) - 1.0)


def lr_multiplier(step: int, warmup_steps: int, total_steps: int, schedule: str = "linear",
                  decay_fraction: float = DECAY_FRACTION, time_fraction: float | None = None) -> float:
    """The factor applied to the peak learning rate before optimizer step `step` (0-based). `time_fraction`, the
    share of a time budget spent, replaces the step count's progress (not a warm-up's)."""
    if schedule == "one-cycle":
        return one_cycle(step / total_steps if time_fraction is None else time_fraction)
    if step < warmup_steps:
        return step / warmup_steps
    if time_fraction is None:
        return decay((step - warmup_steps) / max(1, total_steps - warmup_steps), schedule, decay_fraction)
    return decay(time_fraction, schedule, decay_fraction)


def build_scheduler(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int,
                    schedule: str = "linear", time_fraction: Callable[[], float] | None = None,
                    decay_fraction: float = DECAY_FRACTION) -> LambdaLR:
    """LambdaLR with linear warmup from 0, then linear or cosine decay to 0, constant, warmup-stable-decay, or
    Cramming's one-cycle triangle. With `time_fraction` (the share of a time budget spent, 0 to 1) the schedule
    follows the clock instead of the step count, as Cramming fits its schedule to a budget; warm-up still counts
    steps."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if warmup_steps < 0 or total_steps < 1:
        raise ValueError(f"need warmup_steps >= 0 and total_steps >= 1, got {warmup_steps} and {total_steps}")
    if not 0.0 < decay_fraction <= 1.0:
        raise ValueError(f"decay_fraction must be in (0, 1], got {decay_fraction}")

    def multiplier(step: int) -> float:
        spent = None if time_fraction is None else time_fraction()
        return lr_multiplier(step, warmup_steps, total_steps, schedule, decay_fraction, spent)

    return LambdaLR(optimizer, multiplier)
