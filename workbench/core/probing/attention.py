"""Attention maps of one input: every layer's and head's probabilities, their mean over heads, and rollout.

Row q of a matrix is where token q looks: it sums to 1 over the keys. Attention rollout (Abnar & Zuidema 2020)
follows attention through the layers: each layer's head-mean A is mixed with the identity for the residual
connection, A' = 0.5 A + 0.5 I, rows renormalised, and the layers are multiplied, R_l = A'_l R_(l-1), R_0 = A'_0;
R_l[q, k] is how much input token k reaches position q after layer l. Hiding the special tokens ([CLS], [SEP],
which soak up much attention) drops their rows and columns and renormalises every remaining row to sum to 1,
so the picture shows how attention is shared among the words alone; it is computed after rollout, never before.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence, TextIO

import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import ProbeInputError, encode_text, inference, model_device, tokens_of
from workbench.core.tokenization import WorkbenchTokenizer

HEAD_MODES = ("mean", "rollout")  # besides a head number
RESIDUAL_WEIGHT = 0.5


@dataclass(frozen=True)
class AttentionMatrix:
    values: torch.Tensor  # (T', T'), row q = query, column k = key
    tokens: list[str]
    positions: list[int]  # position of each row/column in the full sequence

    @property
    def labels(self) -> list[str]:
        return [f"{p}:{t}" for p, t in zip(self.positions, self.tokens)]

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "positions": self.positions, "matrix": self.values.tolist()}


@dataclass(frozen=True)
class AttentionMaps:
    tokens: list[str]
    input_ids: list[int]
    special: list[bool]  # True at [CLS], [SEP], [MASK] and the other special tokens
    probs: torch.Tensor  # (L, A, T, T) float32 on the CPU

    @property
    def num_layers(self) -> int:
        return self.probs.shape[0]

    @property
    def num_heads(self) -> int:
        return self.probs.shape[1]

    # Computed once per input: at 512 tokens a rollout is 11 products of 512 x 512 matrices, far too slow to
    # redo each time the user picks another layer on the GUI thread.
    @cached_property
    def head_means(self) -> torch.Tensor:
        """(L, T, T): each layer's mean over its heads."""
        return mean_over_heads(self.probs)

    @cached_property
    def rollout(self) -> torch.Tensor:
        """(L, T, T): attention rollout after each layer."""
        return attention_rollout(self.probs)

    def matrix(self, layer: int, head: int | str = "mean", hide_special: bool = False) -> AttentionMatrix:
        """One (T, T) map: a head of `layer`, the mean of its heads, or the rollout up to and including it."""
        if not 0 <= layer < self.num_layers:
            raise ProbeInputError(f"layer must be in 0..{self.num_layers - 1}; got {layer}")
        if head == "mean":
            values = self.head_means[layer]
        elif head == "rollout":
            values = self.rollout[layer]
        elif isinstance(head, int) and 0 <= head < self.num_heads:
            values = self.probs[layer, head]
        else:
            raise ProbeInputError(f"head must be in 0..{self.num_heads - 1}, 'mean' or 'rollout'; got {head!r}")
        positions = list(range(len(self.tokens)))
        if hide_special:
            keep = [not s for s in self.special]
            values = hide_special_tokens(values, keep)
            positions = [p for p in positions if keep[p]]
        return AttentionMatrix(values, [self.tokens[p] for p in positions], positions)


def attention_maps(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, text_or_ids: str | Sequence[int],
    head_mask: HeadMask | None = None,
) -> AttentionMaps:
    """Run one text (or `[CLS] ... [SEP]` ids) and keep every layer's attention probabilities; with `head_mask`,
    of the model with those heads off (a head's own map stays what it computes; later layers' maps change)."""
    if isinstance(text_or_ids, str):
        ids = encode_text(tokenizer, text_or_ids, model.config.max_length)
    else:
        ids = list(text_or_ids)
    input_ids = torch.tensor([ids], dtype=torch.long, device=model_device(model))  # (1, T)
    with inference(model):
        out = model.bert(input_ids, torch.ones_like(input_ids), output_attentions=True, head_mask=head_mask)
    probs = torch.stack(out.attentions)[:, 0].float().cpu()  # (L, A, T, T)
    special = set(tokenizer.special_ids)
    return AttentionMaps(tokens_of(tokenizer, ids), ids, [i in special for i in ids], probs)


def mean_over_heads(probs: torch.Tensor) -> torch.Tensor:
    """(L, A, T, T) -> (L, T, T)."""
    return probs.mean(dim=1)


def attention_rollout(probs: torch.Tensor, residual_weight: float = RESIDUAL_WEIGHT) -> torch.Tensor:
    """Rollout after each layer, (L, A, T, T) -> (L, T, T); entry l has gone through layers 0..l."""
    T = probs.shape[-1]
    mixed = (1.0 - residual_weight) * mean_over_heads(probs) + residual_weight * torch.eye(T)  # (L, T, T)
    mixed = mixed / mixed.sum(dim=-1, keepdim=True)
    rolled = [mixed[0]]
    for layer_map in mixed[1:]:
        rolled.append(layer_map @ rolled[-1])
    return torch.stack(rolled)


def hide_special_tokens(matrix: torch.Tensor, keep: Sequence[bool]) -> torch.Tensor:
    """Keep the rows and columns where `keep` is True and renormalise each row to sum to 1; (T, T) -> (T', T')."""
    index = torch.tensor([i for i, k in enumerate(keep) if k], dtype=torch.long)
    if index.numel() == 0:
        raise ProbeInputError("the input has no token left once the special tokens are hidden")
    kept = matrix[index][:, index]
    return kept / kept.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(kept.dtype).tiny)


def write_matrix_csv(matrix: AttentionMatrix, out: TextIO, digits: int = 6) -> None:
    """A header row of `position:token` keys, then one row per query: its label and its probabilities."""
    writer = csv.writer(out)
    writer.writerow(["query\\key", *matrix.labels])
    for label, row in zip(matrix.labels, matrix.values.tolist()):
        writer.writerow([label, *(f"{v:.{digits}f}" for v in row)])
