"""Sentence scoring with pseudo-log-likelihood (Salazar et al. 2020, "Masked Language Model Scoring").

PLL(S) = sum over the tokens t of S of log P(t | S with t masked): each token between [CLS] and [SEP] is masked
in turn and the model's log-probability of the original token is read at that position; the pseudo-perplexity
is exp(-PLL / N) over the N scored tokens. All N masked copies of a sentence go through the model as one batch,
and only the N masked positions go through the vocabulary projection.
A word of several pieces: "original" (the standard PLL, PLL-original) masks one piece at a time, so the word's
other pieces stay visible and a long rare word is scored too kindly (its later pieces are easy to guess from
its first); "word-l2r" (PLL-word-l2r, Kauf & Ivanova 2023) also masks the pieces of the same word to the right
of the scored one, so each piece is predicted from the word's earlier pieces only. Specials inside the text
other than [UNK] are refused: a sentence with [MASK] in it has nothing to score there.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Sequence

import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import (
    ProbeInputError,
    encode_text,
    inference,
    model_device,
    tokens_of,
    word_spans,
)
from workbench.core.tokenization import WorkbenchTokenizer

PLL_METHODS = ("original", "word-l2r")


@dataclass(frozen=True)
class TokenScore:
    position: int  # index in the sequence ([CLS] is 0)
    token: str
    log_prob: float  # natural log of P(token | the rest), this token's share of the PLL


@dataclass(frozen=True)
class SentenceScore:
    sentence: str
    method: str
    tokens: list[TokenScore]
    pll: float  # sum of the tokens' log_prob; higher is more likely
    pseudo_perplexity: float  # exp(-pll / len(tokens))
    rank: int  # 1 for the highest PLL among the sentences scored together

    def to_dict(self) -> dict:
        return asdict(self)


def pll_masks(tokenizer: WorkbenchTokenizer, input_ids: Sequence[int], method: str = "original") -> torch.Tensor:
    """Which positions each masked copy hides: (N, T) bool, row n scores position n + 1."""
    if method not in PLL_METHODS:
        raise ProbeInputError(f"method must be one of {', '.join(PLL_METHODS)}; got {method!r}")
    T = len(input_ids)
    masks = torch.zeros((T - 2, T), dtype=torch.bool)
    masks[torch.arange(T - 2), torch.arange(1, T - 1)] = True
    if method == "word-l2r":
        for start, end in word_spans(tokenizer, input_ids):
            for position in range(start, end):
                masks[position - 1, position:end] = True
    return masks


def token_log_probs(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, input_ids: Sequence[int], method: str = "original",
    head_mask: HeadMask | None = None,
) -> list[float]:
    """log P(original token) at every position between [CLS] and [SEP], from one batch of masked copies."""
    masks = pll_masks(tokenizer, input_ids, method)  # (N, T)
    N, T = masks.shape
    ids = torch.tensor(list(input_ids), dtype=torch.long)  # (T,)
    batch = ids.expand(N, T).masked_fill(masks, tokenizer.mask_id)  # (N, T)
    scored = torch.zeros_like(masks)
    scored[torch.arange(N), torch.arange(1, T - 1)] = True  # one position per row, so rows stay in order
    device = model_device(model)
    with inference(model):
        hidden = model.bert(batch.to(device), torch.ones_like(batch, device=device),
                            head_mask=head_mask).last_hidden_state  # (N, T, H)
        logits = model.logits_at(hidden, scored.to(device))  # (N, V)
    log_probs = logits.float().log_softmax(dim=-1).cpu()
    return log_probs[torch.arange(N), ids[1:-1]].tolist()


def check_scorable(tokenizer: WorkbenchTokenizer, sentence: str, ids: list[int]) -> None:
    inner = set(ids[1:-1]) & (set(tokenizer.special_ids) - {tokenizer.unk_id})
    if inner:
        raise ProbeInputError(f"{sentence!r} contains {', '.join(tokens_of(tokenizer, sorted(inner)))}; "
                              "score plain sentences (no mask or other special token)")
    if len(ids) < 3:
        raise ProbeInputError(f"{sentence!r} has no token to score")


def pseudo_log_likelihood(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentence: str, method: str = "original",
    head_mask: HeadMask | None = None,
) -> SentenceScore:
    """PLL, pseudo-perplexity and per-token contributions of one sentence (with `head_mask`'s heads off)."""
    ids = encode_text(tokenizer, sentence, model.config.max_length)
    check_scorable(tokenizer, sentence, ids)
    values = token_log_probs(model, tokenizer, ids, method, head_mask)
    tokens = [TokenScore(p, t, lp) for p, t, lp in zip(range(1, len(ids) - 1), tokens_of(tokenizer, ids[1:-1]), values)]
    pll = sum(values)
    return SentenceScore(sentence, method, tokens, pll, math.exp(-pll / len(values)), rank=1)


def score_sentences(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentences: Sequence[str], method: str = "original",
    head_mask: HeadMask | None = None,
) -> list[SentenceScore]:
    """Score each sentence and rank them, highest PLL first (ties keep the given order)."""
    if not sentences:
        raise ProbeInputError("give at least one sentence to score")
    scores = [pseudo_log_likelihood(model, tokenizer, s, method, head_mask) for s in sentences]
    ranked = sorted(scores, key=lambda s: -s.pll)
    return [SentenceScore(s.sentence, s.method, s.tokens, s.pll, s.pseudo_perplexity, rank)
            for rank, s in enumerate(ranked, start=1)]


def batched_plls(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    sequences: Sequence[Sequence[int]],
    method: str = "original",
    max_rows: int = 1024,
) -> list[float]:
    """The PLL of many encoded sentences ([CLS] ... [SEP]): the masked copies of several sentences padded into one
    batch of at most `max_rows` rows (shortest sentences together), so a suite of short sentences runs at the
    speed of big batches. Equals `token_log_probs` summed, sentence by sentence, up to float rounding."""
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))
    plls = [0.0] * len(sequences)
    device = model_device(model)
    chunk: list[int] = []
    rows = 0
    for index in [*order, None]:
        size = len(sequences[index]) - 2 if index is not None else 0
        if chunk and (index is None or rows + size > max_rows):
            for i, value in zip(chunk, _chunk_plls(model, tokenizer, [sequences[i] for i in chunk], method, device)):
                plls[i] = value
            chunk, rows = [], 0
        if index is not None:
            chunk.append(index)
            rows += size
    return plls


def _chunk_plls(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sequences: Sequence[Sequence[int]],
                method: str, device: torch.device) -> list[float]:
    width = max(len(s) for s in sequences)
    batches, targets, owners = [], [], []
    for number, ids in enumerate(sequences):
        masks = pll_masks(tokenizer, ids, method)  # (N, T)
        N, T = masks.shape
        row = torch.full((width,), tokenizer.pad_id, dtype=torch.long)
        row[:T] = torch.tensor(list(ids), dtype=torch.long)
        padded = torch.zeros((N, width), dtype=torch.bool)
        padded[:, :T] = masks
        batches.append(row.expand(N, width).masked_fill(padded, tokenizer.mask_id))  # (N, W)
        targets.append(row[1:T - 1])
        owners += [number] * N
    batch = torch.cat(batches)  # (R, W)
    lengths = torch.tensor([len(sequences[o]) for o in owners])  # (R,)
    attention = (torch.arange(width)[None, :] < lengths[:, None]).long()  # (R, W)
    scored = torch.zeros_like(batch, dtype=torch.bool)
    positions = torch.cat([torch.arange(1, len(s) - 1) for s in sequences])  # (R,) row r scores this position
    scored[torch.arange(len(batch)), positions] = True
    with inference(model):
        hidden = model.bert(batch.to(device), attention.to(device)).last_hidden_state  # (R, W, H)
        logits = model.logits_at(hidden, scored.to(device))  # (R, V)
    log_probs = logits.float().log_softmax(dim=-1).cpu()
    picked = log_probs[torch.arange(len(batch)), torch.cat(targets)]  # (R,)
    sums = torch.zeros(len(sequences), dtype=torch.float64).index_add_(0, torch.tensor(owners), picked.double())
    return sums.tolist()
