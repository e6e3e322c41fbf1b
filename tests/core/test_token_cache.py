"""The on-disk token cache: layout, dtype choice, offsets, reuse, rebuilds, atomic builds and counts."""

from __future__ import annotations

import os
import random
from collections import Counter

import numpy as np
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers

from workbench.core.token_cache import TokenCache, build_or_load_cache, ids_dtype
from workbench.core.tokenization import BERT_SPECIALS, WorkbenchTokenizer, train_tokenizer
from workbench.settings.tokenizer import TokenizerConfig

WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda")


def make_docs(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in range(n)]
    docs[n // 2] = ""  # an empty document still gets its [SEP]
    return docs


@pytest.fixture(scope="module")
def docs() -> list[str]:
    return make_docs(53)


@pytest.fixture(scope="module")
def tokenizer(docs) -> WorkbenchTokenizer:
    return train_tokenizer(docs, TokenizerConfig(type="wordpiece", vocab_size=60))


class Texts:
    """texts() for the cache, counting how often the corpus is read."""

    def __init__(self, docs: list[str]):
        self.docs = docs
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return iter(self.docs)


def test_batches_are_bounded_in_characters(docs, tokenizer, tmp_path):
    seen = []
    longest = max(map(len, docs))
    cache = build_or_load_cache(Texts(docs), "corpus-a", tokenizer, tmp_path, progress=seen.append, batch_chars=longest)
    bounds = [0, *seen]
    batches = [docs[start:end] for start, end in zip(bounds, bounds[1:])]
    assert seen[-1] == 53 and len(batches) > 1  # not one batch of up to 1,000 documents
    assert all(len(batch) == 1 or sum(map(len, batch)) <= longest for batch in batches)
    expected = [tid for doc in docs for tid in (*tokenizer.encode(doc), tokenizer.sep_id)]
    assert cache.ids.tolist() == expected


def test_dtype_follows_the_vocabulary_size():
    assert ids_dtype(99) == np.uint16
    assert ids_dtype(65536) == np.uint16
    assert ids_dtype(65537) == np.uint32


def test_stream_and_offsets(docs, tokenizer, tmp_path):
    seen = []
    cache = build_or_load_cache(Texts(docs), "corpus-a", tokenizer, tmp_path, progress=seen.append, batch_size=7)
    assert cache.ids.dtype == np.uint16 and cache.doc_offsets.dtype == np.int64
    assert not cache.ids.flags.writeable
    assert seen == [7 * k for k in range(1, 8)] + [53]
    assert cache.n_docs == 53 and len(cache.doc_offsets) == 54 and cache.doc_offsets[0] == 0
    expected = [tid for doc in docs for tid in (*tokenizer.encode(doc), tokenizer.sep_id)]
    assert cache.n_tokens == len(expected) == cache.doc_offsets[-1]
    assert cache.ids.tolist() == expected
    for i, doc in enumerate(docs):
        start, end = cache.doc_offsets[i], cache.doc_offsets[i + 1]
        assert cache.ids[end - 1] == tokenizer.sep_id
        assert cache.document(i).tolist() == tokenizer.encode(doc) == cache.ids[start : end - 1].tolist()
    assert cache.document(53 // 2).size == 0


def test_second_call_reuses_the_cache(docs, tokenizer, tmp_path):
    texts = Texts(docs)
    first = build_or_load_cache(texts, "corpus-a", tokenizer, tmp_path)
    mtime = os.stat(first.path / "ids.bin").st_mtime_ns
    seen = []
    second = build_or_load_cache(texts, "corpus-a", tokenizer, tmp_path, progress=seen.append)
    assert texts.calls == 1 and seen == []
    assert second.path == first.path
    assert os.stat(second.path / "ids.bin").st_mtime_ns == mtime
    assert np.array_equal(second.ids, first.ids) and np.array_equal(second.doc_offsets, first.doc_offsets)
    assert TokenCache(first.path).n_tokens == first.n_tokens


def test_new_content_key_or_tokenizer_rebuilds(docs, tokenizer, tmp_path):
    texts = Texts(docs)
    base = build_or_load_cache(texts, "corpus-a", tokenizer, tmp_path)
    other_key = build_or_load_cache(texts, "corpus-b", tokenizer, tmp_path)
    other_tok = train_tokenizer(docs, TokenizerConfig(type="wordpiece", vocab_size=40))
    other_tokenizer = build_or_load_cache(texts, "corpus-a", other_tok, tmp_path)
    assert texts.calls == 3
    assert len({base.path, other_key.path, other_tokenizer.path}) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (base.path, other_key.path, other_tokenizer.path))


def test_failure_while_reading_leaves_nothing_behind(docs, tokenizer, tmp_path):
    def broken():
        yield from docs[:20]
        raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        build_or_load_cache(broken, "corpus-a", tokenizer, tmp_path, batch_size=8)
    assert list(tmp_path.iterdir()) == []
    cache = build_or_load_cache(Texts(docs), "corpus-a", tokenizer, tmp_path)
    assert cache.n_docs == 53 and [p.name for p in tmp_path.iterdir()] == [cache.path.name]


def test_incomplete_folder_in_the_way_is_replaced(docs, tokenizer, tmp_path):
    first = build_or_load_cache(Texts(docs), "corpus-a", tokenizer, tmp_path)
    (first.path / "meta.json").unlink()  # as if something foreign sat at that name
    texts = Texts(docs)
    again = build_or_load_cache(texts, "corpus-a", tokenizer, tmp_path)
    assert texts.calls == 1 and again.path == first.path and again.n_docs == 53


def test_token_counts(docs, tokenizer, tmp_path):
    cache = build_or_load_cache(Texts(docs), "corpus-a", tokenizer, tmp_path)
    expected = Counter(cache.ids.tolist())
    counts = cache.token_counts(tokenizer.vocab_size)
    assert counts.dtype == np.int64 and len(counts) == tokenizer.vocab_size
    assert {i: int(c) for i, c in enumerate(counts) if c} == dict(expected)
    assert counts[tokenizer.sep_id] == 53
    assert (cache.path / "token_counts.npy").exists()
    assert np.array_equal(TokenCache(cache.path).token_counts(tokenizer.vocab_size), counts)
    with pytest.raises(ValueError, match="outside"):
        cache.token_counts(5)


def test_empty_corpus(tokenizer, tmp_path):
    cache = build_or_load_cache(Texts([]), "nothing", tokenizer, tmp_path)
    assert cache.n_tokens == 0 and cache.n_docs == 0 and cache.doc_offsets.tolist() == [0]
    assert cache.token_counts(tokenizer.vocab_size).sum() == 0


def test_large_vocabulary_is_stored_as_uint32(tmp_path):
    # A real word-level tokenizer whose vocabulary does not fit in 16 bits.
    vocab = {token: i for i, token in enumerate(BERT_SPECIALS.values())}
    vocab.update({f"w{i}": len(vocab) + i for i in range(70_000)})
    inner = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    inner.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = WorkbenchTokenizer(inner, TokenizerConfig(type="char", vocab_size=70_005), BERT_SPECIALS)
    assert tok.vocab_size == 70_005
    cache = build_or_load_cache(Texts(["w69999 w3", "w65535 w65536 nope"]), "big", tok, tmp_path)
    assert cache.ids.dtype == np.uint32
    assert cache.ids.tolist() == [70_004, 8, tok.sep_id, 65_540, 65_541, tok.unk_id, tok.sep_id]
    assert cache.doc_offsets.tolist() == [0, 3, 7]
