"""ALiBi positions (Press et al. 2022, symmetric as MosaicBERT uses them in an encoder): the per-head slopes follow
the paper's rule for any head count, the bias is -slope * |i - j|, there is no position table (the parameter
count and the formula agree), attention scores depend on distances only (a shifted text scores the same), and the
Hugging Face export refuses such a model with the reason."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.core.hf_export import HFExportError, plan_export
from workbench.core.model_config import count_parameters
from workbench.core.modeling_bert import ALiBi, BertForMaskedLM, alibi_slopes
from workbench.settings.model import BertConfig

SHAPE = dict(vocab_size=97, hidden_size=36, num_hidden_layers=2, num_attention_heads=6, intermediate_size=40,
             max_position_embeddings=48, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def paper_slopes(n: int) -> list[float]:
    """The reference implementation's rule, written out: 2^(-8/n) powers for a power of two n; otherwise the
    closest power of two c below n, then the odd-numbered slopes of 2c."""
    if math.log2(n).is_integer():
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start ** i for i in range(n)]
    c = 2 ** math.floor(math.log2(n))
    return paper_slopes(c) + paper_slopes(2 * c)[0::2][:n - c]


@pytest.mark.parametrize("heads", [1, 2, 3, 4, 6, 8, 12, 16])
def test_slopes_follow_the_papers_rule(heads: int) -> None:
    assert alibi_slopes(heads).tolist() == pytest.approx(paper_slopes(heads), rel=1e-6)


def test_the_slopes_of_eight_heads_are_halves() -> None:
    assert alibi_slopes(8).tolist() == pytest.approx([2.0 ** -k for k in range(1, 9)])
    assert alibi_slopes(6).tolist() == pytest.approx([2.0 ** -2, 2.0 ** -4, 2.0 ** -6, 2.0 ** -8, 2.0 ** -1,
                                                      2.0 ** -3])


def test_bias_is_minus_slope_times_the_distance_both_ways() -> None:
    bias = ALiBi(3)(torch.arange(5))  # (1, 3, 5, 5)
    slopes = alibi_slopes(3)
    for h in range(3):
        for i in range(5):
            for j in range(5):
                assert bias[0, h, i, j].item() == pytest.approx(-slopes[h].item() * abs(i - j))
    shifted = ALiBi(3)(torch.tensor([[0, 1, 2, 3, 4], [7, 8, 9, 10, 11]]))  # (B, T) positions: (2, 3, 5, 5)
    assert torch.equal(shifted[0], shifted[1]) and torch.equal(shifted[0], bias[0])


def test_no_position_table_and_the_parameter_count_follows() -> None:
    config = BertConfig(**SHAPE, position_embedding_type="alibi")
    model = BertForMaskedLM(config)
    state = model.state_dict()
    assert "bert.embeddings.position_embeddings.weight" not in state and not any("slopes" in k for k in state)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())
    absolute = BertConfig(**SHAPE)
    assert count_parameters(absolute) - count_parameters(config) == SHAPE["max_position_embeddings"] * 36


def test_attention_sees_distances_only() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**SHAPE, position_embedding_type="alibi")).eval()
    ids = torch.randint(5, 97, (2, 12))
    with torch.no_grad():
        plain = model(ids, output_attentions=True)
        shifted = model(ids, position_ids=torch.arange(12) + 17, output_attentions=True)
        fused = model(ids).logits  # the fused kernel with the same bias
    assert torch.allclose(plain.logits, shifted.logits, atol=1e-5)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(plain.attentions, shifted.attentions))
    assert torch.allclose(plain.logits, fused, atol=1e-5)
    # without content (equal queries and keys) a head's weights fall with the distance, at its own rate
    probs = plain.attentions[0][0]  # (A, T, T)
    assert (probs.sum(-1) - 1).abs().max() < 1e-5


def test_padding_is_masked_and_stays_finite() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(**SHAPE, position_embedding_type="alibi")).eval()
    ids = torch.randint(5, 97, (2, 10))
    mask = torch.ones(2, 10, dtype=torch.long)
    mask[1, 6:] = 0
    with torch.no_grad():
        padded = model(ids, mask, output_attentions=True)
        alone = model(ids[1:, :6]).logits
    assert padded.attentions[0][1, :, :, 6:].abs().max() == 0  # no weight on padding
    assert torch.allclose(padded.logits[1, :6], alone[0], atol=1e-5)
    assert torch.isfinite(padded.logits).all()


def test_hugging_face_export_is_refused_with_the_reason() -> None:
    with pytest.raises(HFExportError, match="ALiBi.*transformers has no BERT-family class"):
        plan_export(BertConfig(vocab_size=99, position_embedding_type="alibi"), "wordpiece", 0)
