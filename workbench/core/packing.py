"""Fixed-length training blocks packed from a token cache.

The cached stream (every document followed by [SEP]) is cut into consecutive chunks of max_len - 1
tokens and each block is [CLS] + chunk, as in RoBERTa's FULL-SENTENCES packing: no token is wasted on
padding except in the last block, and documents flow across block boundaries with [SEP] between them.
Batches are gathered with one numpy fancy index over the memory-mapped stream.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

MIN_MAX_LEN = 8


class PackedBlocks:
    """Block i = [CLS] + stream[i*(L-1) : (i+1)*(L-1)], the last one padded with pad_id."""

    def __init__(self, cache, max_len: int, cls_id: int, pad_id: int):
        if not isinstance(max_len, int) or max_len < MIN_MAX_LEN:
            raise ValueError(f"max_len must be an integer >= {MIN_MAX_LEN}; got {max_len!r}")
        self.cache = cache
        self.max_len = max_len
        self.cls_id = cls_id
        self.pad_id = pad_id
        self.chunk_len = max_len - 1
        self.stream_len = int(cache.n_tokens)
        self.n_blocks = -(-self.stream_len // self.chunk_len)  # ceil division

    def __len__(self) -> int:
        return self.n_blocks

    @property
    def n_tokens(self) -> int:
        """Real (non-pad) tokens over all blocks: the whole stream plus one [CLS] per block."""
        return self.stream_len + self.n_blocks

    def get_batch(self, indices: Sequence[int]) -> dict[str, torch.Tensor]:
        """input_ids and attention_mask, both LongTensor (B, max_len), for the given block indices."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)  # (B,)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_blocks):
            raise IndexError(f"block indices must be in 0..{self.n_blocks - 1}")
        positions = idx[:, None] * self.chunk_len + np.arange(self.chunk_len)  # (B, L-1)
        real = positions < self.stream_len
        # Clamp so the one gather stays inside the file; the clamped slots are overwritten with padding.
        gathered = np.asarray(self.cache.ids[np.minimum(positions, max(self.stream_len - 1, 0))], dtype=np.int64)
        input_ids = np.empty((idx.size, self.max_len), dtype=np.int64)
        input_ids[:, 0] = self.cls_id
        input_ids[:, 1:] = np.where(real, gathered, self.pad_id)
        attention_mask = np.ones((idx.size, self.max_len), dtype=np.int64)
        attention_mask[:, 1:] = real
        return {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention_mask)}
