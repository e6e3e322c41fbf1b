"""The tokenizer lab's figures, each recounted directly: every document encoded whole (in running text, with
offsets), each piece given to the word it starts in, then counted one by one in plain Python."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest

from workbench.core.tokenization import train_tokenizer
from workbench.core.tokenizer_stats import (
    HISTOGRAM_BINS,
    align_sentences,
    canonical_vocabulary,
    compare_tokenizers,
    count_units,
    tokenizer_stats,
)
from workbench.samples.corpus import generate_documents
from workbench.settings.tokenizer import TokenizerConfig

DOCS = list(generate_documents(120, seed=4)) + ["zebras quack, naïvely; 42 émus!"]  # unseen characters: [UNK]


@pytest.fixture(scope="module")
def tokenizers():
    train = list(generate_documents(300))
    return {kind: train_tokenizer(train, TokenizerConfig(type=kind, vocab_size={"bpe": 300, "char": 40}.get(kind, 200)))
            for kind in ("wordpiece", "bpe", "unigram", "char")}


def direct_words(tokenizer, docs) -> list[list[int]]:
    """Every running word's pieces, from each document encoded whole; a piece belongs to the word it starts in,
    or (a space marker) to the word after the space it starts on."""
    words = []
    for doc in docs:
        spans = [m.span() for m in re.finditer(r"\w+|[^\w\s]", doc)]
        pieces: list[list[int]] = [[] for _ in spans]
        encoding = tokenizer.tokenizer.encode(doc, add_special_tokens=False)
        for token_id, (begin, _) in zip(encoding.ids, encoding.offsets):
            index = next(i for i, (_, end) in enumerate(spans) if end > begin)
            pieces[index].append(token_id)
        words += pieces
    return words


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram", "char"])
def test_every_figure_equals_a_direct_count(tokenizers, kind: str) -> None:
    tokenizer = tokenizers[kind]
    stats = tokenizer_stats(kind, tokenizer, count_units(DOCS))
    words = direct_words(tokenizer, DOCS)
    n = len(words)
    assert stats.words == n
    assert stats.pieces == sum(len(w) for w in words)
    assert stats.fertility == pytest.approx(stats.pieces / n)
    histogram = [0] * HISTOGRAM_BINS
    for w in words:
        histogram[min(max(len(w), 1), HISTOGRAM_BINS) - 1] += 1
    assert stats.histogram == histogram
    assert stats.split_shares == pytest.approx({"1": histogram[0] / n, "2": histogram[1] / n, "3": histogram[2] / n,
                                                "4+": sum(histogram[3:]) / n})
    unk = tokenizer.unk_id
    assert stats.unk_rate == pytest.approx(sum(w.count(unk) for w in words) / stats.pieces)
    assert stats.unk_word_rate == pytest.approx(sum(unk in w for w in words) / n)
    used = {i for w in words for i in w}
    regular = [i for i in range(tokenizer.vocab_size) if i not in tokenizer.special_ids]
    assert stats.vocab_size == len(regular)
    assert stats.unused_share == pytest.approx(sum(i not in used for i in regular) / len(regular))
    uses = Counter(i for w in words for i in w)
    assert stats.chars_per_piece == pytest.approx(sum(len(doc.replace(" ", "")) for doc in DOCS) / stats.pieces)
    regular_uses = sum(uses[i] for i in regular)  # the unknown piece is a special: not in the distribution
    frequencies = [uses[i] / regular_uses for i in regular if uses[i]]
    renyi = math.log(sum(p ** 2.5 for p in frequencies)) / (1 - 2.5) / math.log(len(regular))
    assert stats.renyi_efficiency == pytest.approx(renyi)
    assert all(uses[tokenizer.token_to_id(piece)] == count for piece, count in stats.longest)
    assert stats.word_types == len({m for doc in DOCS for m in re.findall(r"\w+|[^\w\s]", doc)})


def test_unknown_characters_are_counted(tokenizers) -> None:
    stats = tokenizer_stats("wp", tokenizers["wordpiece"], count_units(DOCS))
    assert stats.unk_rate > 0 and stats.unk_word_rate > 0


def test_aligned_sentences_cut_each_word_as_running_text_does(tokenizers) -> None:
    sentence = DOCS[0]
    aligned = align_sentences(list(tokenizers.values()), [sentence])[0]
    assert aligned.words == re.findall(r"\w+|[^\w\s]", sentence)
    for tokenizer, pieces in zip(tokenizers.values(), aligned.pieces):
        assert len(pieces) == len(aligned.words)
        assert [p for word in pieces for p in word] == tokenizer.tokens(sentence)


def test_vocabulary_overlap_makes_markers_alike(tokenizers) -> None:
    names = list(tokenizers)
    result = compare_tokenizers(names, list(tokenizers.values()), count_units(DOCS[:5]), DOCS[:2])
    wordpiece, bpe = (canonical_vocabulary(tokenizers[k]) for k in ("wordpiece", "bpe"))
    a, b, shared, jaccard = result.overlap[0]
    assert (a, b) == ("wordpiece", "bpe")
    assert shared == len(wordpiece & bpe) and jaccard == pytest.approx(shared / len(wordpiece | bpe))
    assert "▁the" in wordpiece and "▁the" in bpe  # "the" and "Ġthe" are the same word-initial piece
    assert not any(piece.startswith("##") or piece.startswith("Ġ") for piece in wordpiece | bpe)
    assert len(result.overlap) == 6 and len(result.sentences) == 2
