"""The Masking panel's engine without Qt: the split that always sums to 100, the encoded sample, the measured
proportions, and which tokenizer the panels use."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from workbench.core.tokenization import train_tokenizer
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, add_corpus
from workbench.jobs.tokenizers import DEFAULT_TOKENIZER, train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.masking import MaskingConfig, span_length_mean
from workbench.settings.tokenizer import TokenizerConfig
from workbench.views.choices import current_tokenizer, find_preview_tokenizer, preview_tokenizer
from workbench.views.masking_stats import (
    TokenSample,
    encode_sample,
    measure_masking,
    prepare_source,
    rebalance_split,
)


@pytest.fixture(scope="module")
def documents() -> list[str]:
    return list(generate_documents(1500, seed=3))


@pytest.fixture(scope="module")
def tokenizer(documents):
    # a small vocabulary, so that many words are split into several pieces
    return train_tokenizer(documents, TokenizerConfig(vocab_size=300))


@pytest.fixture(scope="module")
def sample(documents, tokenizer) -> TokenSample:
    return encode_sample(documents, tokenizer, min_tokens=60_000)


def test_rebalance_split_always_sums_to_100() -> None:
    rng = random.Random(7)
    split = (80, 10, 10)
    for _ in range(2000):
        index, value = rng.randrange(3), rng.randint(-20, 130)
        split = rebalance_split(split, index, value)
        assert sum(split) == 100 and all(0 <= part <= 100 for part in split)
        assert split[index] == min(max(value, 0), 100)


def test_rebalance_split_takes_from_keep_first() -> None:
    assert rebalance_split((80, 10, 10), 0, 85) == (85, 10, 5)
    assert rebalance_split((80, 10, 10), 0, 95) == (95, 5, 0)
    assert rebalance_split((80, 10, 10), 1, 0) == (80, 0, 20)
    assert rebalance_split((80, 10, 10), 2, 30) == (70, 0, 30)  # keep moves random first, then mask
    assert rebalance_split((80, 10, 10), 0, 100) == (100, 0, 0)


def test_encode_sample_stops_after_enough_tokens(documents, tokenizer) -> None:
    small = encode_sample(documents, tokenizer, min_tokens=999, batch_docs=7)
    assert 999 <= small.n_tokens < 999 + 7 * 200
    assert small.n_docs % 7 == 0
    assert int((small.ids == tokenizer.sep_id).sum()) == small.n_docs  # one [SEP] after each document
    expected = np.concatenate([[*ids, tokenizer.sep_id] for ids in tokenizer.encode_batch(documents[:small.n_docs])])
    assert np.array_equal(small.ids, expected)
    assert encode_sample([], tokenizer).n_tokens == 0


@pytest.mark.parametrize("config", [
    MaskingConfig(),
    MaskingConfig(mlm_probability=0.4, mask_replace_prob=0.5, random_replace_prob=0.3, strategy="whole-word"),
    MaskingConfig(mlm_probability=0.2, mask_replace_prob=0.2, random_replace_prob=0.0, strategy="span"),
], ids=["token", "whole-word", "span"])
def test_measured_proportions_match_the_settings(sample, tokenizer, config) -> None:
    stats = measure_masking(sample, tokenizer, config, max_len=97)
    assert stats.tokens > 55_000 and stats.blocks == -(-sample.n_tokens // 96)
    assert stats.selected == stats.masked + stats.randomized + stats.kept
    assert stats.selection_rate == pytest.approx(config.mlm_probability, abs=0.01)
    expected = (config.mask_replace_prob, config.random_replace_prob, config.keep_prob)
    assert stats.shares() == pytest.approx(expected, abs=0.02)


def test_span_lengths_are_measured_in_words(sample, tokenizer) -> None:
    token = measure_masking(sample, tokenizer, MaskingConfig(), max_len=257)
    span = measure_masking(sample, tokenizer, MaskingConfig(strategy="span", span_geometric_p=0.3), max_len=257)
    assert token.mean_run_words < 1.3  # scattered single pieces
    assert token.run_words < token.selected  # pieces after the first of a word are not words
    expected = span_length_mean(0.3, 10)
    assert 0.7 * expected < span.mean_run_words < 1.4 * expected


def test_measuring_can_be_cancelled(sample, tokenizer) -> None:
    assert measure_masking(sample, tokenizer, MaskingConfig(), cancelled=lambda: True) is None


def test_tokenizer_choices(tmp_path: Path, documents) -> None:
    with Workspace(tmp_path / "home") as ws:
        assert current_tokenizer(ws.store, None, None) is None
        assert find_preview_tokenizer(ws.store, None, None) is None
        sample_tok = preview_tokenizer(ws, None, None)  # trains the sample's default tokenizer
        assert ws.store.get_corpus(SAMPLE_CORPUS_NAME).id == sample_tok.corpus_id
        assert current_tokenizer(ws.store, None, None) == sample_tok
        corpus_file = tmp_path / "mine.txt"
        corpus_file.write_text("\n\n".join(documents[:300]), encoding="utf-8")
        mine, _ = add_corpus(ws, [corpus_file], "mine")
        # a corpus with no tokenizer of its own: none is current, the preview borrows the sample's
        assert current_tokenizer(ws.store, "mine", None) is None
        assert find_preview_tokenizer(ws.store, "mine", None) == sample_tok
        own = train_tokenizer_for(ws, mine, DEFAULT_TOKENIZER)
        assert current_tokenizer(ws.store, "mine", None) == own
        assert preview_tokenizer(ws, "mine", sample_tok.id) == sample_tok  # an explicit choice wins


def test_prepare_source_survives_an_unreadable_corpus(tmp_path: Path, documents) -> None:
    with Workspace(tmp_path / "home") as ws:
        stages: list[str] = []
        first = prepare_source(ws, None, None, report=stages.append)
        assert first.trained and stages == ["preparing a tokenizer", "encoding a sample of the corpus"]
        assert first.sample.n_tokens >= 200_000 and first.sample_error is None
        corpus_file = tmp_path / "mine.txt"
        corpus_file.write_text("\n\n".join(documents[:50]), encoding="utf-8")
        add_corpus(ws, [corpus_file], "mine")
        mine = prepare_source(ws, "mine", None)
        assert not mine.trained and mine.record == first.record  # borrowed from the sample corpus
        assert mine.sample.n_docs == 50
        corpus_file.unlink()
        gone = prepare_source(ws, "mine", None)
        assert gone.sample is None and "mine" in gone.sample_error and gone.record == first.record
