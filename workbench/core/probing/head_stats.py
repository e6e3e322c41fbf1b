"""What each attention head of one input does, in the numbers of Clark et al. 2019 ("What does BERT look at?"):
how spread out its attention is (the mean entropy of its rows) and how much of it goes to the first token
([CLS] / <s>), to the special tokens, to the token itself, to the previous token and to the next one, each a
mean over the queries. These summarise the head grid, where 144 heads of 512 x 512 weights cannot be listed.
"""

from __future__ import annotations

import csv
from dataclasses import astuple, dataclass, fields
from typing import TextIO

import torch

from workbench.core.probing.attention import AttentionMaps


@dataclass(frozen=True)
class HeadStats:
    layer: int
    head: int
    entropy_bits: float  # mean over queries; log2(T) is uniform attention
    to_first: float  # mean weight on position 0
    to_special: float  # mean weight on all special tokens together
    to_self: float
    to_previous: float  # mean over the queries that have a previous token
    to_next: float  # mean over the queries that have a next token
    max_weight: float


def head_statistics(maps: AttentionMaps) -> list[HeadStats]:
    """One row per (layer, head), layers first, in grid order."""
    probs = maps.probs  # (L, A, T, T)
    T = probs.shape[-1]
    entropy = -(probs * torch.log2(probs.clamp_min(1e-12))).sum(-1).mean(-1)  # (L, A)
    special = torch.tensor(maps.special, dtype=probs.dtype)
    to_special = (probs * special).sum(-1).mean(-1)
    diagonal = probs.diagonal(dim1=-2, dim2=-1)  # (L, A, T)
    previous = probs.diagonal(offset=-1, dim1=-2, dim2=-1)  # (L, A, T-1): a[q, q-1]
    following = probs.diagonal(offset=1, dim1=-2, dim2=-1)  # (L, A, T-1): a[q, q+1]
    columns = {
        "entropy_bits": entropy,
        "to_first": probs[..., 0].mean(-1),
        "to_special": to_special,
        "to_self": diagonal.mean(-1),
        "to_previous": previous.mean(-1) if T > 1 else torch.zeros_like(entropy),
        "to_next": following.mean(-1) if T > 1 else torch.zeros_like(entropy),
        "max_weight": probs.amax(dim=(-2, -1)),
    }
    values = {name: column.tolist() for name, column in columns.items()}
    return [HeadStats(layer, head, **{name: values[name][layer][head] for name in columns})
            for layer in range(maps.num_layers) for head in range(maps.num_heads)]


def write_head_stats_csv(stats: list[HeadStats], out: TextIO, digits: int = 6) -> None:
    """A header of the field names, then one row per head."""
    writer = csv.writer(out)
    writer.writerow([f.name for f in fields(HeadStats)])
    for row in stats:
        writer.writerow([v if isinstance(v, int) else f"{v:.{digits}f}" for v in astuple(row)])
