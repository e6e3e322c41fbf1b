"""What the Attention view draws, prepared off the GUI thread so a BERT-base input (12 layers x 12 heads, 512
tokens: 38 million weights) stays responsive: every head's map shrunk to a thumbnail of at most
THUMBNAIL_CELLS x THUMBNAIL_CELLS (block means) and coloured, for both states of "hide special tokens", and
the head-means and rollout computed once. Also the geometry that keeps large maps legible: how many token labels
to skip when they would overlap, and the strongest lines of a head view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from workbench.core.probing import AttentionMaps
from workbench.views.probe_views import HEAT_HIGH, HEAT_LOW

THUMBNAIL_CELLS = 48  # a thumbnail is drawn 20-60 px wide: more cells than that cannot be seen
MAX_HEAD_VIEW_LINES = 1500  # strongest lines drawn at once; more is a grey blur that takes long to paint


@dataclass(frozen=True)
class AttentionDisplay:
    maps: AttentionMaps
    thumbnails: dict[bool, np.ndarray]  # hide_special -> (L, A, c, c, 3) uint8 RGB


def prepare_attention(maps: AttentionMaps, cells: int = THUMBNAIL_CELLS) -> AttentionDisplay:
    """Thumbnails with and without the special tokens, and the cached head-means and rollout (worker thread)."""
    maps.head_means, maps.rollout  # noqa: B018 - computed here, off the GUI thread, and cached on `maps`
    thumbnails = {hide: thumbnail_colours(shrink(visible_probs(maps, hide), cells)) for hide in (False, True)}
    return AttentionDisplay(maps, thumbnails)


def visible_probs(maps: AttentionMaps, hide_special: bool) -> torch.Tensor:
    """Every head's map, (L, A, T', T'); without the special tokens each row renormalised (as `matrix` does)."""
    if not hide_special or not any(maps.special) or all(maps.special):
        return maps.probs
    keep = torch.tensor([not s for s in maps.special])
    kept = maps.probs[:, :, keep][:, :, :, keep]
    return kept / kept.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(kept.dtype).tiny)


def shrink(probs: torch.Tensor, cells: int) -> np.ndarray:
    """(..., T, T) -> (..., c, c) block means, c = ceil(T / ceil(T / cells)); the last block may be narrower."""
    size = probs.shape[-1]
    factor = math.ceil(size / cells)
    if factor == 1:
        return probs.numpy()
    padded = math.ceil(size / factor) * factor
    # Sum over the padded blocks, then divide by each block's real cell count so edge blocks are true means.
    grown = torch.nn.functional.pad(probs, (0, padded - size, 0, padded - size))
    c = padded // factor
    sums = grown.reshape(*probs.shape[:-2], c, factor, c, factor).sum(dim=(-3, -1))
    counts = torch.full((c,), float(factor))
    counts[-1] = size - factor * (c - 1)
    return (sums / (counts[:, None] * counts[None, :])).numpy()


def thumbnail_colours(values: np.ndarray) -> np.ndarray:
    """(..., c, c) -> (..., c, c, 3) uint8, white to deep blue, each map scaled by its own maximum."""
    top = values.max(axis=(-2, -1), keepdims=True)
    scaled = np.clip(values / np.where(top > 0, top, 1.0), 0.0, 1.0)[..., None]
    return np.round(HEAT_LOW + (HEAT_HIGH - HEAT_LOW) * scaled).astype(np.uint8)


def label_step(count: int, cell_px: float, label_px: float) -> int:
    """Draw every n-th of `count` labels so that labels `label_px` high on cells `cell_px` apart never overlap."""
    if count <= 1 or cell_px >= label_px:
        return 1
    return math.ceil(label_px / max(cell_px, 1e-6))
