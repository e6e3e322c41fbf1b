"""What both training loops share about order and randomness: one seed for every generator, and batches of
examples in a seeded permutation per epoch whose position (epoch, cursor) a checkpoint can hold. The order is
a pure function of (seed, epoch), so a resumed run sees the batches it would have seen."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class EpochSampler:
    """Full batches of block indices from a seeded permutation per epoch; (epoch, cursor) is the position."""

    def __init__(self, n_blocks: int, batch_size: int, seed: int, epoch: int = 0, cursor: int = 0) -> None:
        self.n_blocks, self.batch_size, self.seed = n_blocks, batch_size, seed
        self.epoch, self.cursor = epoch, cursor
        self._order: tuple[int, list[int]] | None = None  # (epoch, permutation)

    def permutation(self, epoch: int) -> list[int]:
        key = hashlib.sha256(f"{self.seed}/{epoch}".encode()).digest()
        generator = torch.Generator().manual_seed(int.from_bytes(key[:8], "little") >> 1)
        return torch.randperm(self.n_blocks, generator=generator).tolist()

    def next_batch(self) -> tuple[list[int], int]:
        """The next batch's block indices and its epoch; the incomplete tail of an epoch is skipped."""
        if self.cursor + self.batch_size > self.n_blocks:
            self.epoch, self.cursor = self.epoch + 1, 0
        if self._order is None or self._order[0] != self.epoch:
            self._order = (self.epoch, self.permutation(self.epoch))
        indices = self._order[1][self.cursor: self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return indices, self.epoch
