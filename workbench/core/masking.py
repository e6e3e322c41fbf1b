"""Masked-language-model corruption (BERT, whole-word and SpanBERT), vectorised and counter-based.

`Masker` picks positions to predict and corrupts them the way BERT does: of the selected positions a fraction
`mask_replace_prob` becomes `[MASK]`, `random_replace_prob` a random non-special token, and the rest is kept.
Selection is per token (an independent Bernoulli(mlm_probability) per token), per whole word (one Bernoulli
per word, so the expected token rate is still mlm_probability) or per span (SpanBERT: whole-word spans with
truncated-geometric lengths until a per-sequence budget of round(mlm_probability * selectable tokens), rounded
stochastically so its expectation is exact, is spent; the last span is cut at the word where the budget runs
out and one-token words fill what that leaves). Neither word strategy ever splits a word. There is no
RNG state: every random number is a pure function of (seed, seq_id, epoch, position, purpose) through a
splitmix64 hash evaluated in int64 torch ops. Hence masks do not depend on how sequences are batched or
padded on the right, static masking (`dynamic=False`) gives a sequence the same mask every epoch, and a
resumed run reproduces its masks exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

from workbench.settings.base import is_integer
from workbench.settings.masking import MaskingConfig, span_length_probabilities

# replacement codes of MaskedBatch.replacement, and their names for previews
NOT_SELECTED, REPLACED_MASK, REPLACED_RANDOM, KEPT = 0, 1, 2, 3
REPLACEMENT_NAMES = ("none", "mask", "random", "kept")

# purposes: each random decision reads its own independent stream
_SELECT, _SPLIT, _RANDOM_ID, _BUDGET, _SPAN_START, _SPAN_LENGTH, _FALLBACK = range(7)
GENERATOR_SAMPLE = 7  # the ELECTRA generator's sample at a masked position (core/objectives.py)
_N_PURPOSES = 8

# span sampling draws this many candidate spans per round; a constant (never batch-dependent) so that a
# sequence's candidates are the same whatever it is batched with
_SPAN_CANDIDATES = 32  # at most 62: a round's candidates are the bits of an int64
# a sequence draws at most one candidate per word (and at least this many rounds): enough to cover 97% of its
# words at SpanBERT's mean span of 3.8 words, so only very high rates with short spans fall back on single words
_MIN_SPAN_ROUNDS = 16
_NO_SPAN = 1 << 62  # in `first`: no candidate covers the token yet
_FALLBACK_BUCKETS = 64


def _signed64(x: int) -> int:
    x &= (1 << 64) - 1
    return x - (1 << 64) if x >> 63 else x


_GOLDEN = _signed64(0x9E3779B97F4A7C15)
_MIX1 = _signed64(0xBF58476D1CE4E5B9)
_MIX2 = _signed64(0x94D049BB133111EB)


def _shr(x: torch.Tensor, s: int) -> torch.Tensor:
    # logical shift: torch's >> on int64 is arithmetic, so clear the sign-extended bits
    return (x >> s) & ((1 << (64 - s)) - 1)


def mix64(x: torch.Tensor) -> torch.Tensor:
    """splitmix64's finaliser on int64 tensors holding uint64 bit patterns (int64 multiplication wraps)."""
    x = (x ^ _shr(x, 30)) * _MIX1
    x = (x ^ _shr(x, 27)) * _MIX2
    return x ^ _shr(x, 31)


def _mix_int(x: int) -> int:
    return int(mix64(torch.tensor([_signed64(x)], dtype=torch.long))[0])


def row_keys(seed: int, seq_ids: torch.Tensor, epoch: int) -> torch.Tensor:
    """One 64-bit key per sequence, from (seed, seq_id, epoch). (B,) int64."""
    stream = _mix_int(_mix_int(seed + _GOLDEN) ^ epoch)
    return mix64(seq_ids.long() * _GOLDEN + stream)


def counter_uniform(keys: torch.Tensor, purpose: int, index: torch.Tensor) -> torch.Tensor:
    """Uniform float64 in [0, 1) for each (sequence key, index), 53 random bits each.

    `keys` is (B,), `index` is (N,) or (B, N); the result is (B, N).
    """
    counter = (index.long() * _N_PURPOSES + purpose + 1) * _GOLDEN
    return _shr(mix64(keys[:, None] + counter), 11).double() * 2.0**-53


def span_length_distribution(p: float, max_length: int) -> torch.Tensor:
    """P(length = k) for k = 1..max_length as a float64 tensor (see `span_length_probabilities`)."""
    return torch.tensor(span_length_probabilities(p, max_length), dtype=torch.float64)


def sample_span_lengths(uniform: torch.Tensor, p: float, max_length: int) -> torch.Tensor:
    """Span lengths in words, by inverting the truncated geometric CDF at `uniform` (float64, in [0, 1))."""
    # P(L > k) = (q**k - q**M) / (1 - q**M) with q = 1 - p; solve for the smallest k with P(L > k) <= 1 - u
    q = 1.0 - p
    if q == 0:
        return torch.ones_like(uniform, dtype=torch.long)
    lengths = torch.log1p(-uniform * (1.0 - q**max_length)) / math.log(q)
    return (lengths.floor().long() + 1).clamp(1, max_length)


@dataclass
class MaskedBatch:
    input_ids: torch.Tensor  # (B, T) corrupted ids
    labels: torch.Tensor  # (B, T) original id at selected positions, -100 elsewhere
    attention_mask: torch.Tensor  # (B, T) unchanged
    replacement: torch.Tensor  # (B, T) int8: 0 not selected, 1 [MASK], 2 random token, 3 kept
    draws: torch.Tensor | None = None  # (B, T) ELECTRA: the uniforms its generator samples from (core/objectives.py)


def describe(masked: MaskedBatch) -> list[list[str]]:
    """Per-position replacement names ("none", "mask", "random", "kept"), one list per sequence."""
    return [[REPLACEMENT_NAMES[code] for code in row] for row in masked.replacement.tolist()]


class Masker:
    """Callable that corrupts a batch for MLM; see the module docstring for the guarantees."""

    def __init__(self, config: MaskingConfig, vocab_size: int, mask_id: int, special_ids: Sequence[int]):
        if not is_integer(vocab_size) or vocab_size < 2:
            raise ValueError(f"vocab_size must be an integer >= 2, got {vocab_size!r}")
        excluded = {int(i) for i in special_ids} | {int(mask_id)}
        if any(not 0 <= i < vocab_size for i in excluded):
            raise ValueError(f"mask_id and special_ids must lie in [0, {vocab_size}), got {sorted(excluded)}")
        self.config = config
        self.vocab_size = vocab_size
        self.mask_id = int(mask_id)
        # specials (and [MASK] itself) are never selected and never drawn as random replacements
        self._is_special = torch.zeros(vocab_size, dtype=torch.bool)
        self._is_special[sorted(excluded)] = True
        self._random_ids = torch.nonzero(~self._is_special).flatten()
        if len(self._random_ids) == 0:
            raise ValueError("the vocabulary has no non-special token to draw random replacements from")

    def __call__(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_start: torch.Tensor | None,
        seq_ids: torch.Tensor,
        epoch: int = 0,
    ) -> MaskedBatch:
        self._check_inputs(input_ids, attention_mask, word_start, seq_ids, epoch)
        keys = row_keys(self.config.seed, seq_ids.to(input_ids.device), epoch if self.config.dynamic else 0)
        is_special = self._is_special.to(input_ids.device)
        selectable = attention_mask.bool() & ~is_special[input_ids]  # (B, T)
        if self.config.strategy == "token":
            positions = torch.arange(input_ids.shape[1], device=input_ids.device)
            selected = selectable & (counter_uniform(keys, _SELECT, positions) < self.config.mlm_probability)
        elif self.config.strategy == "whole-word":
            selected = self._select_words(selectable, word_start, keys)
        else:
            selected = self._select_spans(selectable, word_start, keys)
        return self._corrupt(input_ids, attention_mask, selected, keys)

    def _check_inputs(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        word_start: torch.Tensor | None,
        seq_ids: torch.Tensor,
        epoch: int,
    ) -> None:
        if input_ids.dim() != 2 or attention_mask.shape != input_ids.shape:
            raise ValueError(
                f"input_ids and attention_mask must both be (B, T), got {tuple(input_ids.shape)} "
                f"and {tuple(attention_mask.shape)}"
            )
        if seq_ids.shape != input_ids.shape[:1]:
            raise ValueError(f"seq_ids must be ({input_ids.shape[0]},), got {tuple(seq_ids.shape)}")
        if input_ids.numel() and not 0 <= int(input_ids.min()) <= int(input_ids.max()) < self.vocab_size:
            raise ValueError(f"input_ids must lie in [0, {self.vocab_size})")
        if not is_integer(epoch) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        if self.config.strategy != "token":
            if word_start is None:
                raise ValueError(
                    f"strategy {self.config.strategy!r} needs word_start (a (B, T) bool tensor, e.g. from "
                    "tokenizer.word_start_mask(input_ids)); pass it or use strategy 'token'"
                )
            if word_start.shape != input_ids.shape:
                raise ValueError(f"word_start must be {tuple(input_ids.shape)}, got {tuple(word_start.shape)}")

    def _select_words(
        self, selectable: torch.Tensor, word_start: torch.Tensor, keys: torch.Tensor
    ) -> torch.Tensor:
        # a word is selected as a unit by the draw at its first token; every selected word is a Bernoulli
        # draw independent of its length, so the expected token rate is exactly mlm_probability
        starts = _word_starts(selectable, word_start)  # (B, T)
        positions = torch.arange(selectable.shape[1], device=selectable.device)
        start_of_word = torch.where(starts, positions, 0).cummax(dim=1).values  # (B, T)
        word_draw = counter_uniform(keys, _SELECT, positions).gather(1, start_of_word)
        return selectable & (word_draw < self.config.mlm_probability)

    def _select_spans(
        self, selectable: torch.Tensor, word_start: torch.Tensor, keys: torch.Tensor
    ) -> torch.Tensor:
        """SpanBERT: whole-word spans from a uniform start word, truncated-geometric lengths, up to a budget.

        A word belongs to the first candidate span covering it, and the selection is the words in (candidate,
        position) order up to the one that would overrun the budget: the last span is cut at a word boundary.
        One-token words, in random order, fill the few tokens that cut leaves, so the budget is met exactly
        unless no one-token word is left. The budget is mlm_probability * selectable tokens, stochastically
        rounded, which makes the expected token rate mlm_probability.
        """
        positions = torch.arange(selectable.shape[1], device=selectable.device)
        budget_draw = counter_uniform(keys, _BUDGET, positions[:1])  # (B, 1)
        budget = (self.config.mlm_probability * selectable.sum(1, keepdim=True) + budget_draw).floor().long()
        starts = _word_starts(selectable, word_start)
        first, drawn = self._first_covering_span(selectable, starts, keys, budget)
        # words no candidate reached come last, in random buckets drawn at their first token
        word_first = torch.where(starts, positions, 0).cummax(dim=1).values  # (B, T)
        bucket = (counter_uniform(keys, _FALLBACK, positions) * _FALLBACK_BUCKETS).long().gather(1, word_first)
        order = torch.where(first < drawn, first, drawn + bucket)
        order = torch.where(selectable, order, drawn + _FALLBACK_BUCKETS)
        word_last = _word_ends(selectable, starts)
        chosen = selectable & _first_in_order(order, budget, drawn + _FALLBACK_BUCKETS + 1, word_last)
        short = budget - chosen.sum(1, keepdim=True)  # (B, 1) less than the word the cut left out
        single = selectable & ~chosen & starts & (word_last == positions)  # unchosen one-token words
        fill_order = torch.where(single, bucket, _FALLBACK_BUCKETS)
        return chosen | (single & _first_in_order(fill_order, short, _FALLBACK_BUCKETS + 1))

    def _first_covering_span(
        self, selectable: torch.Tensor, starts: torch.Tensor, keys: torch.Tensor, budget: torch.Tensor
    ) -> tuple[torch.Tensor, int]:
        """Index of the first candidate span covering each selectable token (B, T), and the number drawn.

        Tokens no candidate covers hold the number drawn. Candidates come in rounds until every sequence has
        covered its budget or drawn its own limit (one candidate per word); a later round only reaches tokens
        the earlier ones missed, so a sequence's result does not depend on what it is batched with.
        """
        cfg = self.config
        B, T = selectable.shape
        positions = torch.arange(T, device=selectable.device)
        n_words = starts.sum(1, keepdim=True)  # (B, 1)
        rounds = torch.clamp((n_words + _SPAN_CANDIDATES - 1) // _SPAN_CANDIDATES, min=_MIN_SPAN_ROUNDS)  # (B, 1)
        # word_pos[b, w] = first token of word w; word_pos[b, n_words] = T closes the last word
        word_index = torch.where(starts, starts.cumsum(1) - 1, T + 1)
        word_pos = torch.full((B, T + 2), T, dtype=torch.long, device=selectable.device)
        word_pos = word_pos.scatter(1, word_index, positions.expand(B, T))[:, : T + 1]  # (B, T + 1)
        bits = 1 << torch.arange(_SPAN_CANDIDATES, device=selectable.device)  # candidate k of a round is bit k
        first = torch.full((B, T), _NO_SPAN, dtype=torch.long, device=selectable.device)
        round_ = -1
        for round_ in range(int(rounds.max()) if B else 0):
            k = round_ * _SPAN_CANDIDATES + torch.arange(_SPAN_CANDIDATES, device=selectable.device)
            word = (counter_uniform(keys, _SPAN_START, k) * n_words).long()  # (B, K)
            word = torch.minimum(word, (n_words - 1).clamp(min=0))
            length = sample_span_lengths(counter_uniform(keys, _SPAN_LENGTH, k), cfg.span_geometric_p,
                                         cfg.span_max_length)  # (B, K)
            begin = word_pos.gather(1, word)
            end = word_pos.gather(1, torch.minimum(word + length, n_words))
            # each position sums the bits of the candidates covering it; the lowest set bit is the first of them
            events = torch.zeros((B, T + 1), dtype=torch.long, device=selectable.device)
            events.scatter_add_(1, begin, bits.expand(B, -1)).scatter_add_(1, end, -bits.expand(B, -1))
            cover = events[:, :T].cumsum(1)  # (B, T)
            lowest = torch.frexp((cover & -cover).float()).exponent - 1  # powers of two: exact in float32
            fresh = (cover != 0) & selectable & (first == _NO_SPAN) & (round_ < rounds)
            first = torch.where(fresh, round_ * _SPAN_CANDIDATES + lowest, first)
            done = ((first < _NO_SPAN).sum(1, keepdim=True) >= budget) | (round_ + 1 >= rounds)
            if bool(done.all()):
                break
        drawn = (round_ + 1) * _SPAN_CANDIDATES
        return first.clamp(max=drawn), drawn

    def _corrupt(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, selected: torch.Tensor, keys: torch.Tensor
    ) -> MaskedBatch:
        cfg = self.config
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        split = counter_uniform(keys, _SPLIT, positions)  # (B, T)
        kind = torch.where(split < cfg.mask_replace_prob + cfg.random_replace_prob, REPLACED_RANDOM, KEPT)
        kind = torch.where(split < cfg.mask_replace_prob, REPLACED_MASK, kind)
        replacement = torch.where(selected, kind, NOT_SELECTED).to(torch.int8)
        random_ids = self._random_ids.to(input_ids.device)
        draw = (counter_uniform(keys, _RANDOM_ID, positions) * len(random_ids)).long()
        draw = draw.clamp(max=len(random_ids) - 1)  # (B, T) indices into the non-special ids
        corrupted = torch.where(replacement == REPLACED_MASK, self.mask_id, input_ids)
        corrupted = torch.where(replacement == REPLACED_RANDOM, random_ids[draw], corrupted)
        labels = torch.where(selected, input_ids, -100)
        return MaskedBatch(corrupted, labels, attention_mask, replacement)


def _first_in_order(
    order: torch.Tensor, budget: torch.Tensor, n_buckets: int, unit_last: torch.Tensor | None = None
) -> torch.Tensor:
    """True at each row's first `budget` positions in (order, position) order; 0 <= order < n_buckets.

    With `unit_last` (B, T), the last position of each position's unit (a word, all of whose positions share
    one order), whole units are taken instead, up to the first that would overrun the budget.
    """
    counts = torch.zeros((order.shape[0], n_buckets), dtype=torch.long, device=order.device)
    counts.scatter_add_(1, order, torch.ones_like(order))
    before = (counts.cumsum(1) - counts).gather(1, order)  # positions in earlier buckets
    whole = before + counts.gather(1, order) <= budget
    cut = (before < budget) & ~whole  # the one bucket where the budget runs out: take it left to right
    taken = cut.cumsum(1)
    if unit_last is not None:
        taken = taken.gather(1, unit_last)  # up to the end of the unit
    return whole | (cut & (before + taken <= budget))


def _word_starts(selectable: torch.Tensor, word_start: torch.Tensor) -> torch.Tensor:
    """Word starts among selectable tokens; a token after a special or padding always starts a word. (B, T)"""
    after_unselectable = torch.ones_like(selectable)
    after_unselectable[:, 1:] = ~selectable[:, :-1]
    return selectable & (word_start.bool() | after_unselectable)


def _word_ends(selectable: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """The last position of each token's word: before the next word start or unselectable token. (B, T)"""
    B, T = selectable.shape
    positions = torch.arange(T, device=selectable.device)
    boundary = torch.where(starts | ~selectable, positions, T)  # (B, T)
    following = torch.full((B, T), T, dtype=torch.long, device=selectable.device)
    following[:, :-1] = boundary[:, 1:].flip(1).cummin(1).values.flip(1)  # the next boundary after each token
    return following - 1
