"""What the Attention view draws, prepared off the GUI thread so a BERT-base input (12 layers x 12 heads, 512
tokens: 38 million weights) stays responsive: every head's map shrunk to a thumbnail of at most
THUMBNAIL_CELLS x THUMBNAIL_CELLS (block means) and coloured, for both states of "hide special tokens", and
the head-means, the rollout and the maps without special tokens computed once, so that picking a head on the
GUI thread is slicing only (torch's own threads, fighting for busy cores, made even a 512 x 512 slice and
renormalisation take 20-60 ms there). Also the geometry that keeps large maps legible: how many token labels
to skip when they would overlap, and the strongest lines of a head view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from workbench.core.probing import AttentionMaps, AttentionMatrix
from workbench.views.probe_views import HEAT_HIGH, HEAT_LOW

THUMBNAIL_CELLS = 48  # a thumbnail is drawn 20-60 px wide: more cells than that cannot be seen
MAX_HEAD_VIEW_LINES = 600  # strongest lines drawn at once; more is a blur that takes long to paint


@dataclass(frozen=True)
class HiddenSpecial:
    """The maps without the special tokens, each row renormalised, exactly as `AttentionMaps.matrix` makes them."""

    positions: list[int]  # of the tokens kept
    probs: torch.Tensor  # (L, A, T', T')
    head_means: torch.Tensor  # (L, T', T'): hidden after the mean, as `matrix` does
    rollout: torch.Tensor  # (L, T', T')


@dataclass(frozen=True)
class AttentionDisplay:
    maps: AttentionMaps
    thumbnails: dict[bool, np.ndarray]  # hide_special -> (L, A, c, c, 3) uint8 RGB
    hidden: HiddenSpecial | None  # None when there is no special token to hide, or only special tokens

    def matrix(self, layer: int, head: int | str, hide_special: bool = False) -> AttentionMatrix:
        """`maps.matrix(...)` by slicing what the worker computed: no arithmetic on the GUI thread."""
        if not hide_special or self.hidden is None:
            return self.maps.matrix(layer, head, hide_special)
        self.maps.matrix(layer, head)  # refuses a layer or head out of range as it always does
        hidden = self.hidden
        if head == "mean":
            values = hidden.head_means[layer]
        elif head == "rollout":
            values = hidden.rollout[layer]
        else:
            values = hidden.probs[layer, head]
        return AttentionMatrix(values, [self.maps.tokens[p] for p in hidden.positions], hidden.positions)


def prepare_attention(maps: AttentionMaps, cells: int = THUMBNAIL_CELLS) -> AttentionDisplay:
    """Thumbnails with and without the special tokens, the head-means, the rollout and the maps without special
    tokens, all computed once on the worker thread."""
    shown = maps.probs
    maps.head_means, maps.rollout  # noqa: B018 - computed here, off the GUI thread, and cached on `maps`
    hidden = hide_special(maps)
    thumbnails = {False: thumbnail_colours(shrink(shown, cells)),
                  True: thumbnail_colours(shrink(hidden.probs if hidden else shown, cells))}
    return AttentionDisplay(maps, thumbnails, hidden)


def hide_special(maps: AttentionMaps) -> HiddenSpecial | None:
    """Every map without the special tokens (None when there is none to hide, or nothing else)."""
    if not any(maps.special) or all(maps.special):
        return None
    positions = [i for i, s in enumerate(maps.special) if not s]
    first, last = positions[0], positions[-1]
    if last - first + 1 == len(positions):  # the usual [CLS] ... [SEP]: a slice copies twice as fast as a gather
        kept = maps.probs[:, :, first:last + 1, first:last + 1].contiguous()
    else:
        keep = torch.tensor(positions)
        kept = maps.probs[:, :, keep[:, None], keep]  # one gather: rows and columns together
    probs = kept.div_(kept.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(kept.dtype).tiny))
    layers = range(maps.num_layers)
    means = torch.stack([maps.matrix(layer, "mean", hide_special=True).values for layer in layers])
    rollout = torch.stack([maps.matrix(layer, "rollout", hide_special=True).values for layer in layers])
    return HiddenSpecial(positions, probs, means, rollout)


def shrink(probs: torch.Tensor, cells: int) -> np.ndarray:
    """(..., T, T) -> (..., c, c) block means, c = min(T, cells) (adaptive pooling: blocks differ by one at most)."""
    size = probs.shape[-1]
    if size <= cells:
        return probs.numpy()
    flat = probs.reshape(-1, size, size)
    pooled = torch.nn.functional.adaptive_avg_pool2d(flat, cells)
    return pooled.reshape(*probs.shape[:-2], cells, cells).numpy()


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
