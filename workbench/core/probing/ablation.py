"""Head ablation: switch attention heads off and see what the model loses (Michel et al. 2019, "Are Sixteen Heads
Really Better than One?"; Voita et al. 2019). A head is off through a `HeadMask` passed to the forward, never by
changing a weight: "zero" removes its output (HF's head_mask), "mean" replaces it by its mean over the sentence's
real tokens (mean ablation, which keeps the head's average contribution and removes what depends on the token).

`rank_heads` switches each head off in turn and sorts the heads by the drop they cause: for a sentence with masks,
in the summed log-probability of the answers at its masks (the words given, else the intact model's top-1);
for a cloze suite, in precision@1 (ties broken by MRR). Layers before a head's own are unchanged by its
ablation, so the sentence ranking starts each layer's heads, as one batch, from the intact hidden state there.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import torch

from workbench.core.modeling_bert import HEAD_MASK_MODES, BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import ProbeInputError, inference, model_device, tokens_of, word_token_id
from workbench.core.probing.fill_mask import mask_probabilities, prepare_masks
from workbench.core.probing.suites import ProbeSuite, evaluate_suite
from workbench.core.tokenization import WorkbenchTokenizer

ABLATION_MODES = HEAD_MASK_MODES
Head = tuple[int, int]  # (layer, head), both 0-based


def parse_heads(text: str) -> list[Head]:
    """'3.5,4.1' -> [(3, 5), (4, 1)]: LAYER.HEAD pairs, 0-based, comma-separated; an empty text is no head."""
    heads: list[Head] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        layer, dot, head = part.partition(".")
        if not dot or not layer.isdigit() or not head.isdigit():
            raise ProbeInputError(f"heads are LAYER.HEAD pairs such as 3.5,4.1 (0-based); got {part!r}")
        if (int(layer), int(head)) not in heads:
            heads.append((int(layer), int(head)))
    return heads


def format_heads(heads: Sequence[Head]) -> str:
    return ",".join(f"{layer}.{head}" for layer, head in heads)


def head_mask_for(model: BertForMaskedLM, heads: Sequence[Head], mode: str = "zero") -> HeadMask | None:
    """The mask switching `heads` off in `mode`, or None (the intact model) when no head is given."""
    if mode not in ABLATION_MODES:
        raise ProbeInputError(f"ablation must be one of {', '.join(ABLATION_MODES)}; got {mode!r}")
    if not heads:
        return None
    layers, per_layer = model.config.num_hidden_layers, model.config.num_attention_heads
    keep = torch.ones(layers, per_layer)
    for layer, head in heads:
        if not (0 <= layer < layers and 0 <= head < per_layer):
            raise ProbeInputError(f"head {layer}.{head} does not exist; this model has layers 0..{layers - 1} "
                                  f"with heads 0..{per_layer - 1}")
        keep[layer, head] = 0.0
    return HeadMask(keep.to(model_device(model)), mode)


@dataclass(frozen=True)
class HeadEffect:
    layer: int
    head: int
    value: float  # the metric with this head off
    drop: float  # intact value - value: positive when the head helped


@dataclass(frozen=True)
class HeadRanking:
    metric: str  # "log_prob" (a sentence) or "precision_at_1" (a suite)
    mode: str
    intact: float
    heads: list[HeadEffect]  # largest drop first
    answers: list[str]  # a sentence's answer at each mask; [] for a suite
    notes: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def _answer_ids(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, ids: list[int], positions: list[int],
                answers: Sequence[str] | None) -> tuple[list[int], list[str]]:
    if not answers:
        return mask_probabilities(model, ids, positions).argmax(dim=-1).tolist(), []
    if len(answers) not in (1, len(positions)):
        raise ProbeInputError(f"give one answer per mask ({len(positions)}) or one for all; got {len(answers)}")
    resolved = [word_token_id(tokenizer, a.strip()) for a in answers]
    notes = [f"answer {note}" for _, note in resolved if note is not None]
    answer_ids = [token_id for token_id, _ in resolved]
    return answer_ids * len(positions) if len(answer_ids) == 1 else answer_ids, notes


def rank_heads(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    text: str,
    answers: Sequence[str] | None = None,
    mode: str = "zero",
    progress: Callable[[int, int], None] | None = None,
) -> HeadRanking:
    """Every head switched off alone, sorted by the drop in the answers' summed log-probability at the masks."""
    ids, positions, _, notes = prepare_masks(model, tokenizer, text, 1, None)
    answer_ids, answer_notes = _answer_ids(model, tokenizer, ids, positions, answers)
    layers, per_layer = model.config.num_hidden_layers, model.config.num_attention_heads
    device = model_device(model)
    input_ids = torch.tensor([ids], dtype=torch.long, device=device)  # (1, T)
    selected = torch.zeros_like(input_ids, dtype=torch.bool)
    selected[0, positions] = True
    targets = torch.tensor(answer_ids)  # (M,)
    effects: list[HeadEffect] = []
    with inference(model):
        out = model.bert(input_ids, output_hidden_states=True)
        intact = _answer_log_prob(model.logits_at(out.last_hidden_state, selected)[None], targets)[0]
        for layer in range(layers):
            keep = torch.ones(per_layer, layers, per_layer, device=device)  # (B = one copy per head, L, A)
            keep[torch.arange(per_layer), layer, torch.arange(per_layer)] = 0.0
            start = out.hidden_states[layer].expand(per_layer, -1, -1)  # (A, T, H): what enters this layer
            rows = selected.expand(per_layer, -1)
            ablated = model.bert.encoder(start, None, False, False, rows, HeadMask(keep, mode), first_layer=layer)
            logits = model.cls(ablated.last_hidden_state).view(per_layer, len(positions), -1)  # (A, M, V)
            for head, value in enumerate(_answer_log_prob(logits, targets).tolist()):
                effects.append(HeadEffect(layer, head, value, float(intact) - value))
            if progress is not None:
                progress(layer + 1, layers)
    effects.sort(key=lambda e: -e.drop)
    return HeadRanking("log_prob", mode, float(intact), effects, tokens_of(tokenizer, answer_ids), notes + answer_notes)


def _answer_log_prob(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(B, M, V) logits -> (B,): the sum over the M masks of log P(answer)."""
    log_probs = logits.float().log_softmax(dim=-1).cpu()  # (B, M, V)
    return log_probs[:, torch.arange(len(targets)), targets].sum(dim=-1)


def rank_heads_on_suite(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    suite: ProbeSuite,
    mode: str = "zero",
    progress: Callable[[int, int], None] | None = None,
) -> HeadRanking:
    """Every head switched off alone, sorted by the drop in the suite's precision@1 (then in its MRR)."""
    intact = evaluate_suite(model, tokenizer, suite, top_k=1).metrics["overall"]
    layers, per_layer = model.config.num_hidden_layers, model.config.num_attention_heads
    effects, mrr_drops = [], {}
    for layer in range(layers):
        for head in range(per_layer):
            overall = evaluate_suite(model, tokenizer, suite, top_k=1,
                                     head_mask=head_mask_for(model, [(layer, head)], mode)).metrics["overall"]
            effects.append(HeadEffect(layer, head, overall["precision_at_1"],
                                      intact["precision_at_1"] - overall["precision_at_1"]))
            mrr_drops[layer, head] = intact["mrr"] - overall["mrr"]
        if progress is not None:
            progress(layer + 1, layers)
    effects.sort(key=lambda e: (-e.drop, -mrr_drops[e.layer, e.head]))
    return HeadRanking("precision_at_1", mode, intact["precision_at_1"], effects, [], [])


@dataclass(frozen=True)
class TokenChange:
    token_id: int
    token: str
    intact: float  # probability with every head on
    ablated: float  # with the chosen heads off


@dataclass(frozen=True)
class MaskChange:
    position: int
    tokens: list[TokenChange]  # the intact and the ablated top-k together, most probable when ablated first


def compare_fill(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, text_or_ids: str | Sequence[int],
                 head_mask: HeadMask | None, top_k: int = 5) -> list[MaskChange]:
    """At every mask, the tokens either model ranks in its top-k, with both probabilities."""
    ids, positions, _, _ = prepare_masks(model, tokenizer, text_or_ids, top_k, None)
    intact = mask_probabilities(model, ids, positions)  # (M, V)
    ablated = mask_probabilities(model, ids, positions, head_mask)
    changes = []
    for row, position in enumerate(positions):
        candidates = dict.fromkeys(ablated[row].topk(top_k).indices.tolist() + intact[row].topk(top_k).indices.tolist())
        rows = [TokenChange(i, tokens_of(tokenizer, [i])[0], float(intact[row, i]), float(ablated[row, i]))
                for i in candidates]
        changes.append(MaskChange(position, sorted(rows, key=lambda t: -t.ablated)))
    return changes
