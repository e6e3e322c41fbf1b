"""Tests for workbench.core.masking: rates, split, spans, word integrity, invariances and validation."""
from __future__ import annotations

import math

import pytest
import torch

from workbench.core.masking import (
    KEPT,
    NOT_SELECTED,
    REPLACED_MASK,
    REPLACED_RANDOM,
    MaskedBatch,
    Masker,
    counter_uniform,
    describe,
    mix64,
    row_keys,
    sample_span_lengths,
    span_length_distribution,
)
from workbench.settings.masking import MaskingConfig, span_length_mean

PAD, UNK, CLS, SEP, MASK = 0, 1, 2, 3, 4
SPECIALS = [PAD, UNK, CLS, SEP, MASK]
STRATEGIES = ["token", "whole-word", "span"]


def make_batch(batch: int, length: int, vocab: int = 99, seed: int = 0) -> dict[str, torch.Tensor]:
    """[CLS] + words of 1..4 tokens, a [SEP] or [UNK] here and there, right padding of random length."""
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(len(SPECIALS), vocab, (batch, length), generator=g)
    word_lengths = torch.randint(1, 5, (batch, length), generator=g)
    word_begin = word_lengths.cumsum(1) - word_lengths  # (B, T) begin of the k-th word, may run past T
    word_start = torch.zeros(batch, length + 4 * length, dtype=torch.bool)
    word_start.scatter_(1, word_begin, True)
    word_start = word_start[:, :length].clone()
    odd = torch.rand(batch, length, generator=g)
    input_ids[odd < 0.02] = SEP
    input_ids[(odd >= 0.02) & (odd < 0.03)] = UNK
    input_ids[:, 0] = CLS
    real_length = torch.randint(max(2, length // 2), length + 1, (batch,), generator=g)
    attention_mask = (torch.arange(length) < real_length[:, None]).long()
    input_ids[attention_mask == 0] = PAD
    # the tokenizer contract: specials and padding count as word starts
    word_start |= torch.isin(input_ids, torch.tensor(SPECIALS))
    return dict(input_ids=input_ids, attention_mask=attention_mask, word_start=word_start,
                seq_ids=torch.arange(batch) + 1000 * seed)


def run(masker: Masker, batch: dict[str, torch.Tensor], epoch: int = 0) -> MaskedBatch:
    return masker(batch["input_ids"], batch["attention_mask"], batch["word_start"], batch["seq_ids"], epoch)


def selectable(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return (batch["attention_mask"] == 1) & ~torch.isin(batch["input_ids"], torch.tensor(SPECIALS))


def word_starts(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The masker's words: a token after a special or padding starts a word even inside a tokenizer word."""
    after_unselectable = torch.ones_like(batch["word_start"])
    after_unselectable[:, 1:] = ~selectable(batch)[:, :-1]
    return batch["word_start"] | after_unselectable


def masker_for(vocab: int = 99, **kwargs) -> Masker:
    return Masker(MaskingConfig(**kwargs), vocab_size=vocab, mask_id=MASK, special_ids=SPECIALS)


@pytest.fixture(scope="module")
def big_batch() -> dict[str, torch.Tensor]:
    batch = make_batch(6000, 256, vocab=30000, seed=7)
    assert selectable(batch).sum() > 1_000_000
    return batch


def test_mix64_matches_splitmix64_reference_vectors() -> None:
    # Vigna's splitmix64 with seed 1234567: state += golden gamma, then the finaliser
    gamma = 0x9E3779B97F4A7C15
    states = [(1234567 + k * gamma) % 2**64 for k in range(1, 6)]
    signed = torch.tensor([s - 2**64 if s >= 2**63 else s for s in states])
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423, 4593380528125082431,
                16408922859458223821]
    assert [v % 2**64 for v in mix64(signed).tolist()] == expected


def test_counter_uniform_is_uniform_and_keyed() -> None:
    keys = row_keys(3, torch.arange(64), epoch=0)
    u = counter_uniform(keys, 1, torch.arange(4096))  # (64, 4096)
    assert u.dtype == torch.float64 and 0 <= float(u.min()) and float(u.max()) < 1
    assert abs(float(u.mean()) - 0.5) < 0.003
    histogram = torch.histc(u.float(), bins=10, min=0, max=1) / u.numel()
    assert torch.allclose(histogram, torch.full((10,), 0.1), atol=0.003)
    assert not torch.equal(u, counter_uniform(keys, 2, torch.arange(4096)))
    assert not torch.equal(u, counter_uniform(row_keys(3, torch.arange(64), epoch=1), 1, torch.arange(4096)))


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("rate", [0.15, 0.4])
def test_selection_rate_matches_mlm_probability(big_batch, strategy: str, rate: float) -> None:
    masked = run(masker_for(vocab=30000, strategy=strategy, mlm_probability=rate), big_batch)
    allowed = selectable(big_batch)
    selected = masked.replacement > 0
    assert abs(float(selected.sum()) / float(allowed.sum()) - rate) < 0.005
    assert not (selected & ~allowed).any()  # specials, [MASK] and padding never selected


@pytest.mark.parametrize("split", [(80, 10, 10), (0.5, 0.3, 0.2)])
def test_split_of_selected_positions(big_batch, split: tuple[float, float, float]) -> None:
    config = MaskingConfig.from_split(*split, mlm_probability=0.5)
    masker = Masker(config, vocab_size=30000, mask_id=MASK, special_ids=SPECIALS)
    masked = run(masker, big_batch)
    counts = torch.bincount(masked.replacement.flatten().long(), minlength=4).double()
    fractions = counts[1:] / counts[1:].sum()
    expected = torch.tensor([config.mask_replace_prob, config.random_replace_prob, config.keep_prob])
    assert counts[1:].sum() > 1_000_000 * 0.5
    assert torch.allclose(fractions, expected.double(), atol=0.01)


def test_span_length_distribution_and_sampler() -> None:
    p, m = 0.2, 10
    exact = sum(k * p * (1 - p) ** (k - 1) for k in range(1, m + 1)) / (1 - (1 - p) ** m)
    assert span_length_mean(p, m) == pytest.approx(exact, rel=1e-12)
    assert span_length_mean(p, m) == pytest.approx(3.8, abs=0.01)  # SpanBERT's quoted mean
    keys = row_keys(0, torch.arange(1000), epoch=0)
    lengths = sample_span_lengths(counter_uniform(keys, 5, torch.arange(1000)), p, m)  # 1M spans
    assert int(lengths.min()) == 1 and int(lengths.max()) == m
    assert abs(float(lengths.double().mean()) / exact - 1) < 0.03
    observed = torch.bincount(lengths.flatten(), minlength=m + 1)[1:].double() / lengths.numel()
    assert torch.allclose(observed, span_length_distribution(p, m), atol=0.002)
    assert torch.equal(sample_span_lengths(torch.rand(50, dtype=torch.float64), 1.0, m), torch.ones(50).long())


def _runs(selected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Begin and end (exclusive) masks of maximal selected runs. (B, T) each."""
    before = torch.zeros_like(selected)
    before[:, 1:] = selected[:, :-1]
    after = torch.zeros_like(selected)
    after[:, :-1] = selected[:, 1:]
    return selected & ~before, selected & ~after


def test_spans_are_word_aligned_and_long(big_batch) -> None:
    masked = run(masker_for(vocab=30000, strategy="span"), big_batch)
    selected = masked.replacement > 0
    begins, last = _runs(selected)
    starts = word_starts(big_batch)
    assert not (begins & ~starts).any()  # spans start at word starts
    next_is_start = torch.ones_like(selected)
    next_is_start[:, :-1] = starts[:, 1:] | ~selectable(big_batch)[:, 1:]
    assert not (last & ~next_is_start).any()  # not even the span cut at the budget ends mid-word
    words_per_run = float((selected & starts).sum()) / float(begins.sum())
    assert words_per_run > 2.5  # token masking gives about 1.2 (spans are cut by budgets and specials)


@pytest.mark.parametrize("rate", [0.15, 0.8])
def test_span_budget_is_met_exactly_per_sequence(rate: float) -> None:
    batch = make_batch(13, 2048, seed=3)  # long rows at 0.8 draw many rounds of candidates
    for length in (2048, 7):
        part = {k: (v[:, :length] if v.dim() == 2 else v) for k, v in batch.items()}
        masked = run(masker_for(strategy="span", mlm_probability=rate), part)
        n = selectable(part).sum(1).double()
        count = (masked.replacement > 0).sum(1).double()
        exact = (count == (rate * n).floor()) | (count == (rate * n).ceil())
        if length > 7:
            assert torch.all(exact)
            continue
        # whole words cannot always make the budget (words of 3 and 2 tokens, budget 4): never over it, and
        # under it only where no unselected one-token word is left to fill it
        assert torch.all(count <= (rate * n).ceil())
        starts = word_starts(part)
        next_starts = torch.ones_like(starts)
        next_starts[:, :-1] = starts[:, 1:] | ~selectable(part)[:, 1:]
        one_token_left = (selectable(part) & starts & next_starts & (masked.replacement == 0)).any(1)
        assert not (~exact & one_token_left).any()


def long_packed_rows(batch: int, length: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Rows of packed documents as WordPiece makes them of English: 75% of words one token, 15% two, 10% three
    to five; [CLS] first, a [SEP] closing each document of about 400 tokens, no padding."""
    g = torch.Generator().manual_seed(seed)
    word_lengths = 1 + torch.multinomial(torch.tensor([0.75, 0.15, 0.06, 0.03, 0.01]), batch * length, True,
                                         generator=g).view(batch, length)
    word_begin = (word_lengths.cumsum(1) - word_lengths).clamp(max=length)
    word_start = torch.zeros(batch, length + 1, dtype=torch.bool).scatter_(1, word_begin, True)[:, :length]
    input_ids = torch.randint(len(SPECIALS), 30000, (batch, length), generator=g)
    input_ids[torch.rand(batch, length, generator=g) < 1 / 400] = SEP
    input_ids[:, 0] = CLS
    word_start |= torch.isin(input_ids, torch.tensor(SPECIALS))
    return dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), word_start=word_start,
                seq_ids=torch.arange(batch))


def partly_masked_words(batch: dict[str, torch.Tensor], selected: torch.Tensor) -> tuple[int, int]:
    """(words with some but not all tokens selected, words with any selected), the masker's words."""
    allowed = selectable(batch)
    word_id = (word_starts(batch).long().cumsum(1) + batch["input_ids"].shape[1] * torch.arange(len(selected))[:, None])
    size = torch.bincount(word_id[allowed])
    chosen = torch.bincount(word_id[allowed], weights=selected[allowed].double()).long()
    return int(((chosen > 0) & (chosen < size)).sum()), int((chosen > 0).sum())


@pytest.mark.parametrize("strategy, tolerance", [("span", 0.0005), ("whole-word", 0.01)])
@pytest.mark.parametrize("rate", [0.15, 0.4])
def test_no_word_is_partly_masked_at_32k_tokens(strategy: str, tolerance: float, rate: float) -> None:
    """Span masking once ran out of its 512 candidate spans on long rows and spent the rest of the budget on
    single tokens: 18.6% of the masked words were partly masked at 32k tokens."""
    batch = long_packed_rows(2, 32_768)
    selected = run(masker_for(vocab=30000, strategy=strategy, mlm_probability=rate), batch).replacement > 0
    partly, masked_words = partly_masked_words(batch, selected)
    assert partly == 0 and masked_words > 2 * 32_768 * rate * 0.6
    # span: the budget, to a token per row; whole-word: one draw per word, about 5 standard deviations
    assert abs(float(selected.sum()) / float(selectable(batch).sum()) - rate) < tolerance
    if strategy == "span":  # still spans, not scattered words
        begins, _ = _runs(selected)
        assert float((selected & word_starts(batch)).sum()) / float(begins.sum()) > 2.5


def test_whole_word_selects_complete_words() -> None:
    batch = make_batch(64, 97, seed=1)
    masked = run(masker_for(strategy="whole-word", mlm_probability=0.3), batch)
    selected = (masked.replacement > 0).long()
    allowed = selectable(batch)
    word_id = (batch["word_start"].long().cumsum(1) + 1000 * torch.arange(64)[:, None])[allowed]
    size = torch.bincount(word_id)
    chosen = torch.bincount(word_id, weights=selected[allowed].double()).long()
    assert torch.all((chosen == 0) | (chosen == size))
    assert int((chosen == size)[size > 1].sum()) > 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_corruption_labels_and_random_ids(strategy: str) -> None:
    batch = make_batch(13, 7 * 19, vocab=99, seed=2)
    masked = run(masker_for(strategy=strategy, mlm_probability=0.5), batch)
    original, kind = batch["input_ids"], masked.replacement
    assert kind.dtype == torch.int8 and masked.input_ids.shape == original.shape
    assert torch.equal(masked.labels == -100, kind == NOT_SELECTED)
    assert torch.equal(masked.labels[kind > 0], original[kind > 0])
    assert torch.all(masked.input_ids[kind == REPLACED_MASK] == MASK)
    assert torch.equal(masked.input_ids[kind == KEPT], original[kind == KEPT])
    assert torch.equal(masked.input_ids[kind == NOT_SELECTED], original[kind == NOT_SELECTED])
    randoms = masked.input_ids[kind == REPLACED_RANDOM]
    assert randoms.numel() > 0 and not torch.isin(randoms, torch.tensor(SPECIALS)).any()
    assert masked.attention_mask is batch["attention_mask"]


def test_random_replacements_cover_non_special_vocabulary(big_batch) -> None:
    masked = run(masker_for(vocab=30000, mlm_probability=0.8), big_batch)
    randoms = masked.input_ids[masked.replacement == REPLACED_RANDOM]
    counts = torch.bincount(randoms, minlength=30000)
    assert int(counts[SPECIALS].sum()) == 0
    expected = randoms.numel() / (30000 - len(SPECIALS))
    assert abs(float(counts[len(SPECIALS):].double().mean()) - expected) < 1e-9
    assert float(counts[len(SPECIALS):].double().std()) < 2 * math.sqrt(expected)  # about Poisson


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_static_masks_ignore_epoch_and_dynamic_masks_change(strategy: str) -> None:
    batch = make_batch(13, 64, seed=4)
    static = masker_for(strategy=strategy, dynamic=False)
    dynamic = masker_for(strategy=strategy, dynamic=True)
    assert torch.equal(run(static, batch, epoch=0).replacement, run(static, batch, epoch=5).replacement)
    assert torch.equal(run(static, batch, epoch=0).input_ids, run(static, batch, epoch=5).input_ids)
    assert torch.equal(run(dynamic, batch, epoch=3).input_ids, run(dynamic, batch, epoch=3).input_ids)
    assert not torch.equal(run(dynamic, batch, epoch=0).replacement, run(dynamic, batch, epoch=1).replacement)


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("rate", [0.15, 0.8])
def test_masks_do_not_depend_on_batching_or_right_padding(strategy: str, rate: float) -> None:
    batch = make_batch(13, 128, seed=5)
    batch["attention_mask"][3, 9:] = 0  # a short row finishes its span rounds before the others
    batch["input_ids"][3, 9:] = PAD
    masker = masker_for(strategy=strategy, mlm_probability=rate, seed=11)
    together = run(masker, batch, epoch=2)
    for row in range(13):
        alone = {k: v[row : row + 1] for k, v in batch.items()}
        padded = {k: (torch.nn.functional.pad(v, (0, 5)) if v.dim() == 2 else v) for k, v in alone.items()}
        for single in (run(masker, alone, epoch=2), run(masker, padded, epoch=2)):
            assert torch.equal(single.input_ids[0, :128], together.input_ids[row])
            assert torch.equal(single.replacement[0, :128], together.replacement[row])
    reordered = {k: v.flip(0) for k, v in batch.items()}
    assert torch.equal(run(masker, reordered, epoch=2).labels.flip(0), together.labels)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_seed_reproduces_and_changes_masks(strategy: str) -> None:
    batch = make_batch(13, 7, seed=6)
    first = run(masker_for(strategy=strategy, seed=1, mlm_probability=0.5), batch)
    again = run(masker_for(strategy=strategy, seed=1, mlm_probability=0.5), batch)
    other = run(masker_for(strategy=strategy, seed=2, mlm_probability=0.5), batch)
    assert torch.equal(first.input_ids, again.input_ids) and torch.equal(first.replacement, again.replacement)
    assert not torch.equal(first.replacement, other.replacement)


@pytest.mark.parametrize(
    "field, value",
    [
        ("mlm_probability", 0.9),
        ("mlm_probability", 0.0),
        ("mask_replace_prob", -0.1),
        ("random_replace_prob", 1.5),
        ("strategy", "sentence"),
        ("span_geometric_p", 0.0),
        ("span_max_length", 0),
        ("span_max_length", 2.5),
        ("dynamic", "yes"),
        ("seed", -1),
    ],
)
def test_validation_names_the_field(field: str, value) -> None:
    with pytest.raises(ValueError, match=field):  # a config that is not allowed cannot be built
        MaskingConfig(**{field: value})


def test_validation_of_split_and_allowed_values() -> None:
    with pytest.raises(ValueError, match="mask_replace_prob must be at most 1 together with random_replace_prob"):
        MaskingConfig(mask_replace_prob=0.7, random_replace_prob=0.4)
    with pytest.raises(ValueError, match="token, whole-word, span"):
        MaskingConfig(strategy="words")
    with pytest.raises(ValueError, match="sum to 1"):
        MaskingConfig.from_split(0.8, 0.1, 0.2)
    with pytest.raises(ValueError, match="non-negative"):
        MaskingConfig.from_split(110, -10, 0)
    percents = MaskingConfig.from_split(70, 20, 10, strategy="span")
    assert percents.mask_replace_prob == pytest.approx(0.7) and percents.keep_prob == pytest.approx(0.1)
    assert percents.strategy == "span"
    MaskingConfig(mask_replace_prob=1.0, random_replace_prob=0.0)


def test_dict_round_trip_and_unknown_keys() -> None:
    config = MaskingConfig(mlm_probability=0.2, strategy="whole-word", dynamic=False, seed=9)
    assert MaskingConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="colour"):
        MaskingConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="mlm_probability"):
        MaskingConfig.from_dict({**config.to_dict(), "mlm_probability": 2})


@pytest.mark.parametrize("strategy", ["whole-word", "span"])
def test_word_strategies_need_word_start(strategy: str) -> None:
    batch = make_batch(2, 7)
    with pytest.raises(ValueError, match="word_start"):
        masker_for(strategy=strategy)(batch["input_ids"], batch["attention_mask"], None, batch["seq_ids"])
    # token masking does not need word starts
    masker_for()(batch["input_ids"], batch["attention_mask"], None, batch["seq_ids"])


def test_masker_rejects_bad_inputs() -> None:
    batch = make_batch(3, 7)
    masker = masker_for()
    with pytest.raises(ValueError, match="input_ids must lie"):
        masker(batch["input_ids"] + 99, batch["attention_mask"], None, batch["seq_ids"])
    with pytest.raises(ValueError, match="seq_ids"):
        masker(batch["input_ids"], batch["attention_mask"], None, batch["seq_ids"][:2])
    with pytest.raises(ValueError, match="attention_mask"):
        masker(batch["input_ids"], batch["attention_mask"][:, :5], None, batch["seq_ids"])
    with pytest.raises(ValueError, match="epoch"):
        masker(batch["input_ids"], batch["attention_mask"], None, batch["seq_ids"], epoch=-1)
    with pytest.raises(ValueError, match="special_ids"):
        Masker(MaskingConfig(), vocab_size=99, mask_id=MASK, special_ids=[0, 120])
    with pytest.raises(ValueError, match="no non-special token"):
        Masker(MaskingConfig(), vocab_size=3, mask_id=2, special_ids=[0, 1])


def test_empty_and_all_padding_rows() -> None:
    batch = make_batch(4, 7)
    batch["attention_mask"][1] = 0
    batch["input_ids"][1] = PAD
    for strategy in STRATEGIES:
        masked = run(masker_for(strategy=strategy, mlm_probability=0.8), batch)
        assert not (masked.replacement[1] > 0).any()
        empty = masker_for(strategy=strategy)(
            torch.zeros(0, 7, dtype=torch.long), torch.zeros(0, 7, dtype=torch.long),
            torch.zeros(0, 7, dtype=torch.bool), torch.zeros(0, dtype=torch.long),
        )
        assert empty.input_ids.shape == (0, 7)


def test_describe_names_each_position() -> None:
    batch = make_batch(2, 7)
    masked = run(masker_for(mlm_probability=0.8), batch)
    names = describe(masked)
    assert len(names) == 2 and all(len(row) == 7 for row in names)
    codes = {"none": NOT_SELECTED, "mask": REPLACED_MASK, "random": REPLACED_RANDOM, "kept": KEPT}
    assert [[codes[n] for n in row] for row in names] == masked.replacement.tolist()
