"""Packed [CLS] + chunk blocks over a token cache: coverage, order, padding, masks and odd sizes."""

from __future__ import annotations

import random

import pytest
import torch

from workbench.core.packing import PackedBlocks
from workbench.core.token_cache import build_or_load_cache
from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer
from workbench.settings.tokenizer import TokenizerConfig


def make_docs(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(("ab", "cd", "efg", "hij", "k")) for _ in range(rng.randint(1, 9))) for _ in range(n)]


@pytest.fixture(scope="module")
def tokenizer() -> WorkbenchTokenizer:
    return train_tokenizer(make_docs(200), TokenizerConfig(type="char", vocab_size=40))


@pytest.fixture()
def cache(tokenizer, tmp_path):
    return build_or_load_cache(lambda: iter(make_docs(41)), "docs-41", tokenizer, tmp_path)


def all_blocks(blocks: PackedBlocks) -> dict[str, torch.Tensor]:
    return blocks.get_batch(range(len(blocks)))


@pytest.mark.parametrize("max_len", [8, 13, 64, 1000])
def test_every_stream_token_appears_once_in_order(cache, tokenizer, max_len):
    blocks = PackedBlocks(cache, max_len, tokenizer.cls_id, tokenizer.pad_id)
    assert cache.n_tokens % (max_len - 1) != 0  # the last block is partial for these sizes
    assert len(blocks) == -(-cache.n_tokens // (max_len - 1))
    batch = all_blocks(blocks)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert ids.shape == mask.shape == (len(blocks), max_len)
    assert ids.dtype == mask.dtype == torch.long
    assert (ids[:, 0] == tokenizer.cls_id).all() and (mask[:, 0] == 1).all()
    body, body_mask = ids[:, 1:], mask[:, 1:]
    assert body[body_mask.bool()].tolist() == cache.ids.tolist()
    # Only the last block is padded, at its end, with pad_id under mask 0.
    n_pad = len(blocks) * (max_len - 1) - cache.n_tokens
    assert (body_mask[:-1] == 1).all()
    assert body_mask[-1].tolist() == [1] * (max_len - 1 - n_pad) + [0] * n_pad
    assert (body[-1, max_len - 1 - n_pad :] == tokenizer.pad_id).all()
    assert blocks.n_tokens == int(mask.sum()) == cache.n_tokens + len(blocks)


def test_block_i_is_cls_plus_its_chunk(cache, tokenizer):
    blocks = PackedBlocks(cache, 9, tokenizer.cls_id, tokenizer.pad_id)
    stream = cache.ids.tolist()
    for i in (0, 1, 7, len(blocks) - 2):
        row = blocks.get_batch([i])["input_ids"][0].tolist()
        assert row == [tokenizer.cls_id] + stream[i * 8 : (i + 1) * 8]


def test_batches_follow_the_requested_indices(cache, tokenizer):
    blocks = PackedBlocks(cache, 13, tokenizer.cls_id, tokenizer.pad_id)
    everything = all_blocks(blocks)
    indices = [len(blocks) - 1, 0, 5, 5, 3, 2, 1, 9, 4, 8, 7, 6, 0]  # batch of 13, repeats, the last block
    batch = blocks.get_batch(indices)
    for key in ("input_ids", "attention_mask"):
        assert torch.equal(batch[key], everything[key][indices])
    assert torch.equal(blocks.get_batch(torch.tensor(indices))["input_ids"], batch["input_ids"])
    assert blocks.get_batch([])["input_ids"].shape == (0, 13)


def test_exact_multiple_needs_no_padding(tokenizer, tmp_path):
    # "ab" is ▁ a b [SEP]: 4 tokens per document, 10 documents, chunks of 8.
    cache = build_or_load_cache(lambda: iter(["ab"] * 10), "ab-10", tokenizer, tmp_path)
    assert cache.n_tokens == 40
    blocks = PackedBlocks(cache, 9, tokenizer.cls_id, tokenizer.pad_id)
    batch = all_blocks(blocks)
    assert len(blocks) == 5 and (batch["attention_mask"] == 1).all()
    assert (batch["input_ids"][:, 1:] != tokenizer.pad_id).all()


def test_tiny_and_empty_streams(tokenizer, tmp_path):
    one = build_or_load_cache(lambda: iter(["k"]), "one", tokenizer, tmp_path)
    blocks = PackedBlocks(one, 8, tokenizer.cls_id, tokenizer.pad_id)
    batch = all_blocks(blocks)
    assert len(blocks) == 1 and batch["attention_mask"][0].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert batch["input_ids"][0, 4:].tolist() == [tokenizer.pad_id] * 4
    empty = build_or_load_cache(lambda: iter([]), "none", tokenizer, tmp_path)
    blocks = PackedBlocks(empty, 8, tokenizer.cls_id, tokenizer.pad_id)
    assert len(blocks) == 0 and blocks.n_tokens == 0
    assert blocks.get_batch([])["input_ids"].shape == (0, 8)


def test_invalid_arguments(cache, tokenizer):
    with pytest.raises(ValueError, match="max_len"):
        PackedBlocks(cache, 7, tokenizer.cls_id, tokenizer.pad_id)
    blocks = PackedBlocks(cache, 8, tokenizer.cls_id, tokenizer.pad_id)
    with pytest.raises(IndexError):
        blocks.get_batch([len(blocks)])
    with pytest.raises(IndexError):
        blocks.get_batch([-1])
