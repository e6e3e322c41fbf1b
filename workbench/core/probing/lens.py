"""The per-layer fill-mask lens: at which depth the answer forms. The model's MLM head (its dense transform,
activation and LayerNorm, then the tied decoder) is applied to the hidden state at each [MASK] after every layer,
and after the embeddings, not only after the last layer ("logit lens", nostalgebraist 2020; for BERT as in
Tenney et al. 2019's layer-wise probing without training a probe). A pre-LN model's intermediate states are
unnormalised, so they go through its final LayerNorm first, as the last one does; at the last layer the lens
is therefore ordinary fill-mask.

Each mask follows one answer: a word the user names (its first piece, with a note, when it is several) or, when
none is given, the token the full model predicts there, so the table shows from which layer on the final
answer leads. Its rank counts the tokens scored strictly higher over the whole vocabulary, plus one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import ProbeInputError, inference, model_device, tokens_of, word_token_id
from workbench.core.probing.fill_mask import Prediction, prepare_masks, top_predictions
from workbench.core.tokenization import WorkbenchTokenizer

GIVEN, FINAL_TOP = "given", "final top-1"  # where a mask's answer came from


@dataclass(frozen=True)
class LayerReading:
    depth: int  # layers applied: 0 is the embeddings, L the model's output (after layer L - 1, 0-based)
    predictions: list[Prediction]  # the head's top-k at this depth, most probable first
    answer_rank: int  # 1-based over the whole vocabulary
    answer_probability: float


@dataclass(frozen=True)
class MaskLens:
    position: int  # index in `tokens`
    answer: str
    answer_id: int
    answer_source: str  # GIVEN or FINAL_TOP
    layers: list[LayerReading]  # depth 0 .. L

    @property
    def settles_at(self) -> int | None:
        """The smallest depth from which the answer is ranked first through the last layer, or None."""
        depth = None
        for reading in reversed(self.layers):
            if reading.answer_rank != 1:
                break
            depth = reading.depth
        return depth


@dataclass(frozen=True)
class LensResult:
    tokens: list[str]
    input_ids: list[int]
    masks: list[MaskLens]  # in position order
    notes: list[str]

    def to_dict(self) -> dict:
        data = asdict(self)
        for mask, entry in zip(self.masks, data["masks"]):
            entry["settles_at"] = mask.settles_at
        return data


def depth_label(depth: int) -> str:
    """'embeddings' for depth 0, else 'layer N' with N 0-based as in the attention view."""
    return "embeddings" if depth == 0 else f"layer {depth - 1}"


def layer_probabilities(model: BertForMaskedLM, input_ids: Sequence[int], positions: Sequence[int],
                        head_mask: HeadMask | None = None) -> torch.Tensor:
    """Softmax of the MLM head at `positions` after the embeddings and every layer: (L + 1, M, V), float32, CPU."""
    ids = torch.tensor([list(input_ids)], dtype=torch.long, device=model_device(model))  # (1, T)
    with inference(model):
        out = model.bert(ids, torch.ones_like(ids), output_hidden_states=True, head_mask=head_mask)
        states = torch.stack(out.hidden_states)[:, 0, list(positions)]  # (L + 1, M, H)
        final_norm = model.bert.encoder.final_layer_norm
        if final_norm is not None:  # pre-LN: the last state is normalised already, the others not yet
            states = torch.cat([final_norm(states[:-1]), states[-1:]])
        logits = model.cls(states)  # (L + 1, M, V)
    return logits.float().softmax(dim=-1).cpu()


def _answers(model_probs: torch.Tensor, tokenizer: WorkbenchTokenizer, answers: Sequence[str] | None,
             n_masks: int) -> tuple[list[int], str, list[str]]:
    """Each mask's answer id, where they came from, and notes; model_probs: the last layer's (M, V)."""
    if not answers:
        return model_probs.argmax(dim=-1).tolist(), FINAL_TOP, []
    if len(answers) not in (1, n_masks):
        raise ProbeInputError(f"give one answer per mask ({n_masks}) or one for all; got {len(answers)}")
    ids, notes = [], []
    for answer in answers:
        token_id, note = word_token_id(tokenizer, answer.strip())
        ids.append(token_id)
        if note is not None:
            notes.append(f"answer {note}")
    return ids * n_masks if len(ids) == 1 else ids, GIVEN, notes


def layer_lens(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    text_or_ids: str | Sequence[int],
    top_k: int = 5,
    answers: Sequence[str] | None = None,
    head_mask: HeadMask | None = None,
) -> LensResult:
    """The top-k and the answer's rank and probability at every mask of a text, layer by layer."""
    ids, positions, _, notes = prepare_masks(model, tokenizer, text_or_ids, top_k, None)
    probs = layer_probabilities(model, ids, positions, head_mask)  # (L + 1, M, V)
    answer_ids, source, answer_notes = _answers(probs[-1], tokenizer, answers, len(positions))
    masks = []
    for row, (position, answer_id) in enumerate(zip(positions, answer_ids)):
        readings = []
        for depth, layer_probs in enumerate(probs[:, row]):  # (V,) each
            p = layer_probs[answer_id]
            rank = int((layer_probs > p).sum()) + 1
            readings.append(LayerReading(depth, top_predictions(layer_probs, None, top_k, tokenizer), rank, float(p)))
        answer = tokens_of(tokenizer, [answer_id])[0]
        masks.append(MaskLens(position, answer, answer_id, source, readings))
    return LensResult(tokens_of(tokenizer, ids), ids, masks, notes + answer_notes)
