"""Tokenizer training, persistence, specials, determinism, lowercase and exact word starts, per type."""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer
from workbench.settings.tokenizer import TokenizerConfig

TYPES = ("wordpiece", "bpe", "unigram", "char")
VOCAB = {"wordpiece": 200, "bpe": 300, "unigram": 200, "char": 40}
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "ta", "ven", "dor", "sil", "qua", "mar", "tin", "ex", "pre", "ing")
# Long words never seen whole in training: the small vocabularies must split them into several pieces.
LONG_WORDS = ("quasilorutavendor", "premarkatinexing", "dorsilquamarneka")


def make_corpus(n_sentences: int = 2000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))) for _ in range(300)]
    words += ["café", "Über", "naïve"]
    sentences = []
    for _ in range(n_sentences):
        chosen = [rng.choice(words) for _ in range(rng.randint(4, 12))]
        if rng.random() < 0.3:
            chosen[rng.randrange(len(chosen))] += ","
        sentences.append(" ".join(chosen).capitalize() + rng.choice(".!?"))
    return sentences


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return make_corpus()


@pytest.fixture(scope="module")
def trained(corpus) -> dict[str, WorkbenchTokenizer]:
    return {t: train_tokenizer(corpus, TokenizerConfig(type=t, vocab_size=VOCAB[t])) for t in TYPES}


def expected_starts(tok: WorkbenchTokenizer, words: list[str]) -> tuple[list[int], list[bool]]:
    """Oracle: encoding the words one by one gives the same ids, each word starting at its first piece."""
    ids, starts = [], []
    for word in words:
        pieces = tok.encode(word)
        ids += pieces
        starts += [True] + [False] * (len(pieces) - 1)
    return ids, starts


@pytest.mark.parametrize("kind", TYPES)
def test_specials_sit_at_their_ids(trained, kind):
    tok = trained[kind]
    assert tok.special_ids == [0, 1, 2, 3, 4]
    if kind == "bpe":
        roles = {"cls_id": "<s>", "pad_id": "<pad>", "sep_id": "</s>", "unk_id": "<unk>", "mask_id": "<mask>"}
    else:
        roles = {"pad_id": "[PAD]", "unk_id": "[UNK]", "cls_id": "[CLS]", "sep_id": "[SEP]", "mask_id": "[MASK]"}
    for i, (role, token) in enumerate(roles.items()):
        assert getattr(tok, role) == tok.token_to_id(token) == i
        assert tok.id_to_token(i) == token
    assert tok.mask_token == roles["mask_id"]
    assert tok.encode(f"lo {tok.mask_token} ka").count(tok.mask_id) == 1


@pytest.mark.parametrize("kind", TYPES)
def test_vocab_size_respects_the_config(trained, kind):
    assert 5 + 20 < trained[kind].vocab_size <= VOCAB[kind]


@pytest.mark.parametrize("kind", TYPES)
def test_save_load_round_trip(trained, corpus, kind, tmp_path):
    tok = trained[kind]
    tok.save(tmp_path / "tok")
    assert {p.name for p in (tmp_path / "tok").iterdir()} == {"tokenizer.json", "workbench_tokenizer.json"}
    loaded = WorkbenchTokenizer.load(tmp_path / "tok")
    assert loaded.config == tok.config
    assert loaded.fingerprint() == tok.fingerprint()
    assert (loaded.pad_id, loaded.unk_id, loaded.cls_id, loaded.sep_id, loaded.mask_id) == (
        tok.pad_id, tok.unk_id, tok.cls_id, tok.sep_id, tok.mask_id)
    assert loaded.encode_batch(corpus[:50]) == tok.encode_batch(corpus[:50])
    assert torch.equal(loaded.word_start_lookup, tok.word_start_lookup)


@pytest.mark.parametrize("kind", TYPES)
def test_training_twice_gives_the_same_tokenizer(trained, corpus, kind):
    # WordPiece and Unigram need care here: the HF trainers iterate hash maps seeded per map.
    again = train_tokenizer(corpus, TokenizerConfig(type=kind, vocab_size=VOCAB[kind]))
    assert again.tokenizer.to_str() == trained[kind].tokenizer.to_str()
    assert again.fingerprint() == trained[kind].fingerprint()


@pytest.mark.parametrize("kind", TYPES)
def test_encode_batch_matches_encode_and_adds_no_specials(trained, corpus, kind):
    tok = trained[kind]
    batch = tok.encode_batch(corpus[:20])
    assert batch == [tok.encode(text) for text in corpus[:20]]
    assert all(tok.cls_id not in ids and tok.sep_id not in ids for ids in batch)


@pytest.mark.parametrize("kind", TYPES)
def test_decode_inverts_encode_on_plain_words(trained, kind):
    tok = trained[kind]
    text = "kalo quasilorutavendor mi exing"
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("kind", TYPES)
def test_word_start_mask_is_exact_on_multi_piece_words(trained, kind):
    tok = trained[kind]
    words = ["Kalomi", *LONG_WORDS, "ne", "taruven", "premar", "exing"]
    assert all(len(tok.encode(w)) >= 3 for w in LONG_WORDS)  # the test needs real splits
    ids, starts = expected_starts(tok, words)
    assert tok.encode(" ".join(words)) == ids
    assert tok.word_start_mask(torch.tensor(ids)).tolist() == starts


@pytest.mark.parametrize("kind", TYPES)
def test_word_start_mask_on_corpus_sentences(trained, corpus, kind):
    tok = trained[kind]
    for sentence in corpus[:200:7]:
        words = sentence.split()
        if kind == "wordpiece":  # BERT splits punctuation off into words of its own
            words = [part for w in words for part in _split_punct(w)]
        ids, starts = expected_starts(tok, words)
        assert tok.encode(sentence) == ids
        assert tok.word_start_mask(torch.tensor(ids)).tolist() == starts


def _split_punct(word: str) -> list[str]:
    stem = word.rstrip(",.!?")
    return [stem, *word[len(stem):]]


@pytest.mark.parametrize("kind", ["wordpiece", "unigram"])
def test_word_start_mask_agrees_with_encoding_word_ids(trained, corpus, kind):
    # For these two, the HF pre-tokenizer's words are exactly the words word_start_mask means.
    tok = trained[kind]
    for sentence in corpus[:100:9]:
        enc = tok.tokenizer.encode(sentence, add_special_tokens=False)
        word_ids = enc.word_ids
        oracle = [i == 0 or word_ids[i] != word_ids[i - 1] for i in range(len(word_ids))]
        assert tok.word_start_mask(torch.tensor(enc.ids)).tolist() == oracle


@pytest.mark.parametrize("kind", TYPES)
def test_specials_and_padding_start_words_in_a_batch(trained, kind):
    tok = trained[kind]
    long = tok.encode(LONG_WORDS[0])  # (n,) several pieces, only the first a word start
    row_a = [tok.cls_id, *long, tok.sep_id, *long, tok.pad_id, tok.pad_id]
    row_b = [tok.cls_id, *long[1:], tok.sep_id]
    row_b += [tok.pad_id] * (len(row_a) - len(row_b))
    batch = torch.tensor([row_a, row_b])  # (2, T)
    mask = tok.word_start_mask(batch)
    assert mask.shape == batch.shape and mask.dtype == torch.bool
    n = len(long)
    piece_starts = [True] + [False] * (n - 1)
    assert mask[0].tolist() == [True, *piece_starts, True, *piece_starts, True, True]
    # A continuation piece cut off by [CLS] (a block boundary) begins a word of its own.
    assert mask[1, :n].tolist() == [True, True] + [False] * (n - 2)
    assert mask[1, n:].all()


def test_word_start_mask_keeps_any_shape(trained):
    tok = trained["wordpiece"]
    ids = torch.randint(0, tok.vocab_size, (3, 5, 7))
    assert tok.word_start_mask(ids).shape == (3, 5, 7)
    assert tok.word_start_mask(ids[..., :0]).shape == (3, 5, 0)
    assert torch.equal(tok.word_start_mask(ids)[1], tok.word_start_mask(ids[1]))


def test_char_tokens_are_characters_with_a_space_token(trained):
    tok = trained["char"]
    assert tok.tokens("ka lo") == ["▁", "k", "a", "▁", "l", "o"]
    assert tok.encode("ka  \n lo") == tok.encode("ka lo")
    assert tok.encode("kaж")[-1] == tok.unk_id


def test_char_vocab_keeps_the_most_frequent_characters(corpus):
    tok = train_tokenizer(corpus, TokenizerConfig(type="char", vocab_size=32, min_frequency=1))
    assert tok.vocab_size == 32
    counts = Counter(" ".join(corpus).lower().replace(" ", "▁"))
    kept = [ch for ch in counts if tok.token_to_id(ch) is not None]
    dropped = [ch for ch in counts if tok.token_to_id(ch) is None]
    assert len(kept) == 32 - 5 and dropped and "▁" in kept
    assert min(counts[ch] for ch in kept) >= max(counts[ch] for ch in dropped)
    assert tok.encode(dropped[0]) == [tok.token_to_id("▁"), tok.unk_id]


@pytest.mark.parametrize("kind", TYPES)
def test_lowercase_on_and_off(corpus, trained, kind):
    lower = trained[kind]
    assert lower.encode("KALO Mine") == lower.encode("kalo mine")
    cased = train_tokenizer(corpus, TokenizerConfig(type=kind, vocab_size=VOCAB[kind], lowercase=False))
    assert cased.encode("KALO Mine") != cased.encode("kalo mine")
    assert any(any(c.isupper() for c in t) for t in cased.tokens("Kalo"))
    assert cased.decode(cased.encode("Kalo mine")) == "Kalo mine"


def test_wordpiece_lowercase_strips_accents_and_cased_keeps_them(corpus, trained):
    assert trained["wordpiece"].encode("café") == trained["wordpiece"].encode("cafe")
    cased = train_tokenizer(corpus, TokenizerConfig(type="wordpiece", vocab_size=200, lowercase=False))
    assert "é" in "".join(cased.tokens("café"))


def test_progress_reports_texts_read(corpus):
    seen = []
    train_tokenizer(iter(corpus + corpus[:500]), TokenizerConfig(type="char", vocab_size=40), progress=seen.append)
    assert seen == [1000, 2000, 2500]


def test_config_round_trip_and_validation():
    config = TokenizerConfig(type="unigram", vocab_size=99, lowercase=False, min_frequency=3)
    assert TokenizerConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="type"):
        TokenizerConfig(type="sentencepiece").validate()
    with pytest.raises(ValueError, match="vocab_size"):
        TokenizerConfig(type="bpe", vocab_size=200).validate()  # below 256 bytes + specials
    with pytest.raises(ValueError, match="vocab_size"):
        TokenizerConfig(vocab_size=31).validate()
    with pytest.raises(ValueError, match="vocab_size"):
        TokenizerConfig(vocab_size=2_000_000).validate()
    with pytest.raises(ValueError, match="min_frequency"):
        TokenizerConfig(min_frequency=0).validate()
    with pytest.raises(ValueError, match="lowercase"):
        TokenizerConfig(lowercase="yes").validate()
    with pytest.raises(ValueError, match="type"):
        train_tokenizer(["a b"], TokenizerConfig(type="bytes"))
