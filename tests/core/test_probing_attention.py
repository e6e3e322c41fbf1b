"""Attention maps: rows sum to 1 and equal a by-hand softmax(QK^T/sqrt(d)) from the weights (post- and pre-LN);
rollout of one layer is its identity-mixed, renormalised head mean, and later layers multiply; hiding the
special tokens renormalises what is left; CSV export round-trips; bad layer/head choices are refused."""

from __future__ import annotations

import csv
import io
import math

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import (
    ProbeInputError,
    attention_maps,
    attention_rollout,
    hide_special_tokens,
    mean_over_heads,
    write_matrix_csv,
)
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

TEXT = "the farmers near the dog are happy [MASK]."


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


def tiny_model(tokenizer, pre_layer_norm: bool = False) -> BertForMaskedLM:
    torch.manual_seed(5)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=3, num_attention_heads=3,
                        intermediate_size=37, max_position_embeddings=40, pre_layer_norm=pre_layer_norm)
    return BertForMaskedLM(config).eval()


def by_hand(model: BertForMaskedLM, ids: list[int]) -> list[torch.Tensor]:
    """Each layer's (A, T, T) attention from its query/key weights and the hidden state entering the layer."""
    input_ids = torch.tensor([ids])
    with torch.no_grad():
        states = model.bert(input_ids, output_hidden_states=True).hidden_states
        maps = []
        for layer, x in zip(model.bert.encoder.layer, states):
            x = x[0]  # (T, H)
            if model.config.pre_layer_norm:
                x = layer.attention.output.LayerNorm(x)
            attention = layer.attention.self
            A, d = attention.num_heads, attention.head_size
            q = (x @ attention.query.weight.T + attention.query.bias).view(-1, A, d).transpose(0, 1)  # (A, T, d)
            k = (x @ attention.key.weight.T + attention.key.bias).view(-1, A, d).transpose(0, 1)
            maps.append(torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1))  # (A, T, T)
    return maps


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_attention_rows_sum_to_one_and_match_a_recomputation(tokenizer, pre_layer_norm: bool) -> None:
    model = tiny_model(tokenizer, pre_layer_norm)
    maps = attention_maps(model, tokenizer, TEXT)
    T = len(maps.tokens)
    assert maps.probs.shape == (3, 3, T, T) and maps.num_layers == 3 and maps.num_heads == 3
    assert torch.allclose(maps.probs.sum(dim=-1), torch.ones(3, 3, T), atol=1e-5)
    for layer, expected in enumerate(by_hand(model, maps.input_ids)):
        assert torch.allclose(maps.probs[layer], expected, atol=1e-5), layer
    assert maps.special == [t in ("[CLS]", "[SEP]", "[MASK]") for t in maps.tokens]


def random_attention(layers: int, heads: int, T: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(layers, heads, T, T, generator=generator).softmax(dim=-1)


def test_rollout_of_one_layer_is_its_identity_mixed_renormalised_attention() -> None:
    probs = random_attention(1, 3, 7)
    mixed = 0.5 * probs[0].mean(dim=0) + 0.5 * torch.eye(7)
    expected = mixed / mixed.sum(dim=-1, keepdim=True)
    assert torch.allclose(attention_rollout(probs)[0], expected, atol=1e-6)
    assert torch.allclose(expected.sum(dim=-1), torch.ones(7))  # mixing with I keeps rows stochastic


def test_rollout_multiplies_the_layers_in_order() -> None:
    probs = random_attention(3, 2, 5, seed=1)
    layer_maps = [0.5 * m + 0.5 * torch.eye(5) for m in mean_over_heads(probs)]
    rolled = attention_rollout(probs)
    assert torch.allclose(rolled[1], layer_maps[1] @ layer_maps[0], atol=1e-6)
    assert torch.allclose(rolled[2], layer_maps[2] @ layer_maps[1] @ layer_maps[0], atol=1e-6)
    assert torch.allclose(rolled.sum(dim=-1), torch.ones(3, 5), atol=1e-6)
    assert not torch.allclose(rolled[2], rolled[0])


def test_hiding_special_tokens_renormalises_the_remaining_rows() -> None:
    matrix = random_attention(1, 1, 6, seed=2)[0, 0]
    keep = [False, True, True, False, True, False]
    hidden = hide_special_tokens(matrix, keep)
    kept = matrix[[1, 2, 4]][:, [1, 2, 4]]
    assert hidden.shape == (3, 3)
    assert torch.allclose(hidden.sum(dim=-1), torch.ones(3), atol=1e-6)
    assert torch.allclose(hidden, kept / kept.sum(dim=-1, keepdim=True))
    with pytest.raises(ProbeInputError):
        hide_special_tokens(matrix, [False] * 6)


def test_matrix_choices_and_refusals(tokenizer) -> None:
    maps = attention_maps(tiny_model(tokenizer), tokenizer, TEXT)
    assert torch.equal(maps.matrix(1, 2).values, maps.probs[1, 2])
    assert torch.allclose(maps.matrix(2, "mean").values, maps.probs[2].mean(dim=0))
    assert torch.allclose(maps.matrix(2, "rollout").values, attention_rollout(maps.probs)[2])
    shown = maps.matrix(0, "rollout", hide_special=True)
    words = [i for i, s in enumerate(maps.special) if not s]
    assert shown.positions == words and shown.tokens == [maps.tokens[i] for i in words]
    assert torch.allclose(shown.values.sum(dim=-1), torch.ones(len(words)), atol=1e-5)
    for layer, head, message in ((3, 0, "layer must be in 0..2"), (0, 3, "head must be in 0..2"),
                                 (0, "max", "head must be")):
        with pytest.raises(ProbeInputError, match=message):
            maps.matrix(layer, head)


def test_csv_export_round_trips(tokenizer) -> None:
    maps = attention_maps(tiny_model(tokenizer), tokenizer, TEXT)
    matrix = maps.matrix(1, "mean")
    out = io.StringIO()
    write_matrix_csv(matrix, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["query\\key", *(f"{i}:{t}" for i, t in enumerate(maps.tokens))]
    assert [r[0] for r in rows[1:]] == rows[0][1:]
    values = torch.tensor([[float(v) for v in r[1:]] for r in rows[1:]])
    assert torch.allclose(values, matrix.values, atol=1e-6)
