"""The training steps since the last logged point: their losses stay device tensors until `check()` reads them
all at once (no per-step sync with the GPU), and the first non-finite one is reported with its step."""

from __future__ import annotations

import math

import torch


class LossWindow:
    """The steps since the last StepEvent. Losses stay device tensors until `check()` syncs them."""

    def __init__(self, start: float) -> None:
        self.start, self.excluded = start, 0.0  # clock time at start; eval/checkpoint seconds inside
        self.pending: list[tuple[int, torch.Tensor]] = []
        self.losses: list[float] = []
        self.tokens, self.lr, self.grad_norm = 0, 0.0, torch.zeros(())

    def add(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor, lr: float, tokens: int) -> None:
        self.pending.append((step, loss))
        self.grad_norm, self.lr, self.tokens = grad_norm, lr, self.tokens + tokens

    def check(self) -> tuple[int, float] | None:
        """Sync the pending losses; the (step, value) of the first non-finite one, if any."""
        if self.pending:
            values = torch.stack([loss for _, loss in self.pending]).tolist()
            for (step, _), value in zip(self.pending, values):
                if not math.isfinite(value):
                    return step, value
            self.losses.extend(values)
            self.pending.clear()
        return None
