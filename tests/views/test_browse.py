"""What the Data and Tokenizer panels show, without Qt: skipped files, previews, token frequencies, pieces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.core.tokenization import train_tokenizer
from workbench.jobs.corpora import add_corpus, remove_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents
from workbench.settings.tokenizer import TokenizerConfig
from workbench.views.browse import (
    count_token_frequencies,
    is_skipped,
    preview_documents,
    stream_documents,
    text_pieces,
    tokenizer_frequencies,
    vocabulary_table,
)


@pytest.fixture
def ws(home: Path):
    with Workspace(home) as workspace:
        yield workspace


@pytest.fixture(scope="module")
def wordpiece():
    return train_tokenizer(generate_documents(300, seed=3), TokenizerConfig(vocab_size=99, min_frequency=1))


def test_preview_streams_in_scan_order_and_skips_the_files_the_scan_skipped(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a.txt").write_text("first one\n\nsecond " + "x" * 50 + "\n", encoding="utf-8")
    (folder / "b.jsonl").write_bytes(b"\x00\x01\x02 binary \xff\xfe\x00" * 40)
    (folder / "c.txt").write_text("third\nstill third\n\nfourth\n", encoding="utf-8")
    record, scan = add_corpus(ws, [folder], "mixed")
    assert [is_skipped(problem) for problem in record.problems if "b.jsonl" in problem] == [True]
    assert list(stream_documents(record)) == ["first one", "second " + "x" * 50, "third\nstill third", "fourth"]
    preview = preview_documents(record, limit=3, max_chars=20)
    assert preview == ["first one", "second " + "x" * 13 + " …", "third\nstill third"]


def test_token_frequencies_count_every_id_and_say_when_the_cap_cut_them(wordpiece) -> None:
    texts = list(generate_documents(13, seed=5))
    expected = np.bincount([i for text in texts for i in wordpiece.encode(text)], minlength=wordpiece.vocab_size)
    seen = []
    full = count_token_frequencies(wordpiece, texts, batch_size=4, progress=seen.append)
    assert full.complete and full.documents == 13 and seen == [4, 8, 12, 13]
    np.testing.assert_array_equal(full.counts, expected)
    assert full.counts.shape == (wordpiece.vocab_size,) and full.tokens == expected.sum()
    exact = count_token_frequencies(wordpiece, iter(texts), max_documents=13, batch_size=5)
    assert exact.complete and exact.documents == 13
    capped = count_token_frequencies(wordpiece, iter(texts), max_documents=7, batch_size=5)
    assert not capped.complete and capped.documents == 7
    first7 = np.bincount([i for text in texts[:7] for i in wordpiece.encode(text)], minlength=wordpiece.vocab_size)
    np.testing.assert_array_equal(capped.counts, first7)


def test_a_tokenizers_frequencies_over_its_own_corpus(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "animals.txt"
    path.write_text("\n\n".join(generate_documents(30, seed=2)) + "\n", encoding="utf-8")
    corpus, _ = add_corpus(ws, [path], "animals")
    record = train_tokenizer_for(ws, corpus, TokenizerConfig(vocab_size=99, min_frequency=1))
    seen: list[tuple[int, int]] = []
    counted, total = tokenizer_frequencies(ws, record, progress=lambda done, wanted: seen.append((done, wanted)))
    expected = count_token_frequencies(load_tokenizer(record), stream_documents(corpus))
    np.testing.assert_array_equal(counted.counts, expected.counts)
    assert counted.complete and total == 30 and seen == [(30, 30)]
    assert tokenizer_frequencies(ws, record, cancelled=lambda: True) == (None, 30)
    remove_corpus(ws, corpus.id)
    with pytest.raises(UserError, match="corpus of tokenizer .* is gone"):
        tokenizer_frequencies(ws, record)


def test_vocabulary_table_lists_every_id_with_its_flags(wordpiece) -> None:
    vocab = vocabulary_table(wordpiece)
    assert len(vocab.tokens) == vocab.word_start.shape[0] == vocab.special.shape[0] == wordpiece.vocab_size
    assert vocab.tokens[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab.special[:5].all() and not vocab.special[5:].any()
    for token, start in zip(vocab.tokens[5:], vocab.word_start[5:]):
        assert start == (not token.startswith("##"))


def test_text_pieces_are_the_tokens_with_their_word_starts(wordpiece) -> None:
    text = "The dogs run"
    pieces = text_pieces(wordpiece, text)
    assert [p.token for p in pieces] == wordpiece.tokens(text)
    assert [p.id for p in pieces] == wordpiece.encode(text)
    assert [p.word_start for p in pieces] == [not p.token.startswith("##") for p in pieces]
    assert sum(p.word_start for p in pieces) == 3 and len(pieces) > 3  # a vocabulary of 99 splits words
    assert text_pieces(wordpiece, "") == []
    assert text_pieces(wordpiece, "[MASK] dog")[0].special
