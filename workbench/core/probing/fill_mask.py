"""Fill-mask: the model's top-k tokens and their probabilities at each mask of a text, as HF's fill-mask pipeline.

Probabilities are the softmax over the whole vocabulary at a mask position, so they equal a plain forward pass;
`targets` only restricts which tokens are listed (HF's `targets`): a target word is encoded as a word on its
own, and one that is several pieces is replaced by its first piece with a note saying so (HF warns and does
the same). Several masks are predicted independently (one forward pass), or filled in order of confidence:
the mask whose best candidate is most probable is filled first, then the rest are predicted again with it
in place (iterative filling, as in Ghazvininejad et al. 2019's mask-predict with one token per round).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import (
    MASK_MARKER,
    ProbeInputError,
    encode_text,
    inference,
    mask_positions,
    model_device,
    tokens_of,
    word_token_id,
)
from workbench.core.tokenization import WorkbenchTokenizer


@dataclass(frozen=True)
class Prediction:
    token_id: int
    token: str
    probability: float  # softmax over the whole vocabulary


@dataclass(frozen=True)
class MaskPredictions:
    position: int  # index in `tokens` ([CLS] is 0)
    predictions: list[Prediction]  # most probable first


@dataclass(frozen=True)
class FillMaskResult:
    tokens: list[str]
    input_ids: list[int]
    masks: list[MaskPredictions]  # in position order
    notes: list[str]  # e.g. a target that had to be cut to its first piece

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FillStep:
    position: int
    chosen: Prediction  # what was written at `position`
    candidates: list[Prediction]  # the top-k there when it was filled


@dataclass(frozen=True)
class InOrderResult:
    tokens: list[str]
    input_ids: list[int]
    steps: list[FillStep]  # in the order the masks were filled
    filled_ids: list[int]
    text: str  # the filled sequence decoded, without [CLS] and [SEP]
    notes: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_targets(tokenizer: WorkbenchTokenizer, targets: Sequence[str]) -> tuple[list[int], list[str]]:
    """Token ids for target words (see `word_token_id`) and notes for those cut to a first piece or unknown."""
    ids: list[int] = []
    notes: list[str] = []
    for target in (t.strip() for t in targets):
        if not target:
            continue
        token_id, note = word_token_id(tokenizer, target)
        if note is not None:
            notes.append(f"target {note}")
        if token_id not in ids:
            ids.append(token_id)
    if not ids:
        raise ProbeInputError("the targets name no word; give comma-separated words such as 'is,are'")
    return ids, notes


def mask_probabilities(model: BertForMaskedLM, input_ids: Sequence[int], positions: Sequence[int],
                       head_mask: HeadMask | None = None) -> torch.Tensor:
    """Softmax over the vocabulary at `positions` (increasing) of one sequence: (len(positions), V), float32, CPU;
    with `head_mask`, of the model with those heads switched off."""
    ids = torch.tensor([list(input_ids)], dtype=torch.long, device=model_device(model))  # (1, T)
    selected = torch.zeros_like(ids, dtype=torch.bool)
    selected[0, list(positions)] = True
    with inference(model):
        # the last layer's output projection and feed-forward run at the masked positions alone (`rows`), as
        # in training: the same probabilities with about 6% less work for base (bench/inference.py)
        hidden = model.bert(ids, rows=selected, head_mask=head_mask).last_hidden_state  # (M, H)
        logits = model.cls(hidden)  # (M, V), positions in increasing order
    return logits.float().softmax(dim=-1).cpu()


def top_predictions(
    probs: torch.Tensor, candidates: torch.Tensor | None, k: int, tokenizer: WorkbenchTokenizer
) -> list[Prediction]:
    """The k most probable of `candidates` (all tokens if None); probs: (V,)."""
    pool = probs if candidates is None else probs[candidates]
    values, index = pool.topk(min(k, pool.numel()))
    ids = index if candidates is None else candidates[index]
    return [Prediction(int(i), tokens_of(tokenizer, [int(i)])[0], float(v)) for i, v in zip(ids, values)]


def prepare_masks(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, text_or_ids: str | Sequence[int], top_k: int,
             targets: Sequence[str] | None) -> tuple[list[int], list[int], torch.Tensor | None, list[str]]:
    if top_k < 1:
        raise ProbeInputError(f"top-k must be at least 1; got {top_k}")
    max_len = model.config.max_length
    ids = encode_text(tokenizer, text_or_ids, max_len) if isinstance(text_or_ids, str) else list(text_or_ids)
    positions = mask_positions(ids, tokenizer.mask_id)
    if not positions:
        spellings = MASK_MARKER if tokenizer.mask_token == MASK_MARKER else f"{MASK_MARKER} or {tokenizer.mask_token}"
        raise ProbeInputError(f"the text has no mask; write {spellings} where the model should fill in a word")
    if not targets:
        return ids, positions, None, []
    target_ids, notes = resolve_targets(tokenizer, targets)
    return ids, positions, torch.tensor(target_ids, dtype=torch.long), notes


def fill_mask(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    text_or_ids: str | Sequence[int],
    top_k: int = 5,
    targets: Sequence[str] | None = None,
    head_mask: HeadMask | None = None,
) -> FillMaskResult:
    """Top-k predictions at every mask of a text (or of `[CLS] ... [SEP]` ids), each mask independently."""
    ids, positions, candidates, notes = prepare_masks(model, tokenizer, text_or_ids, top_k, targets)
    probs = mask_probabilities(model, ids, positions, head_mask)  # (M, V)
    masks = [MaskPredictions(p, top_predictions(probs[row], candidates, top_k, tokenizer))
             for row, p in enumerate(positions)]
    return FillMaskResult(tokens_of(tokenizer, ids), ids, masks, notes)


def fill_in_order(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    text_or_ids: str | Sequence[int],
    top_k: int = 5,
    targets: Sequence[str] | None = None,
    head_mask: HeadMask | None = None,
) -> InOrderResult:
    """Fill the most confident mask with its best token, predict the others again, repeat until none is left."""
    ids, remaining, candidates, notes = prepare_masks(model, tokenizer, text_or_ids, top_k, targets)
    filled = list(ids)
    steps: list[FillStep] = []
    while remaining:
        # Positions are passed explicitly: a filled-in token may itself be the mask token.
        probs = mask_probabilities(model, filled, remaining, head_mask)  # (M, V)
        pool = probs if candidates is None else probs[:, candidates]
        row = int(pool.max(dim=-1).values.argmax())
        position = remaining.pop(row)
        ranked = top_predictions(probs[row], candidates, top_k, tokenizer)
        filled[position] = ranked[0].token_id
        steps.append(FillStep(position, ranked[0], ranked))
    text = tokenizer.decode(filled[1:-1])
    return InOrderResult(tokens_of(tokenizer, ids), ids, steps, filled, text, notes)
