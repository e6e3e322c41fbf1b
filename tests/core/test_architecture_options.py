"""The architecture options of our encoder (rotary positions, gated feed-forward, no biases, sliding-window
attention, no first attention LayerNorm): parameter counts equal `count_parameters`' formula, shapes are what
docs/architecture-options.md says, local layers cannot see past their window, RoPE only sees distances, and the
defaults stay BERT's (an old config without the new keys loads as it did)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from workbench.core.model_config import count_parameters
from workbench.core.modeling_bert import BertForMaskedLM, RotaryEmbedding
from workbench.settings.base import SettingError
from workbench.settings.model import BertConfig, ModelSpec

V, H, A, I, P = 97, 32, 4, 40, 48  # vocabulary, hidden, heads, intermediate, positions
MODERN = dict(pre_layer_norm=True, first_attention_norm=False, position_embedding_type="rope", feed_forward="geglu",
              linear_bias=False, norm_bias=False, local_attention=8, global_attn_every_n_layers=3)


def make_config(**changes) -> BertConfig:
    return BertConfig(**{**dict(vocab_size=V, hidden_size=H, num_hidden_layers=3, num_attention_heads=A,
                                intermediate_size=I, max_position_embeddings=P, hidden_dropout_prob=0.0,
                                attention_probs_dropout_prob=0.0), **changes})


def make_model(seed: int = 0, **changes) -> BertForMaskedLM:
    torch.manual_seed(seed)
    model = BertForMaskedLM(make_config(**changes)).eval()
    with torch.no_grad():  # non-trivial LayerNorms and biases, so that no option can hide behind an init value
        for name, p in model.named_parameters():
            if "LayerNorm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model


OPTIONS = {
    "bert": {}, "rope": dict(position_embedding_type="rope"), "geglu": dict(feed_forward="geglu"),
    "swiglu-pre-ln": dict(feed_forward="swiglu", pre_layer_norm=True), "no-linear-bias": dict(linear_bias=False),
    "no-norm-bias": dict(norm_bias=False), "local": dict(local_attention=6, global_attn_every_n_layers=2),
    "modernbert": MODERN,
}


@pytest.mark.parametrize("changes", OPTIONS.values(), ids=OPTIONS.keys())
def test_parameter_count_equals_the_formula(changes) -> None:
    config = make_config(**changes)
    model = BertForMaskedLM(config)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())


def test_shapes_follow_the_options() -> None:
    state = BertForMaskedLM(make_config(**MODERN)).state_dict()
    assert "bert.embeddings.position_embeddings.weight" not in state  # RoPE: no position table
    assert state["bert.encoder.layer.1.intermediate.dense.weight"].shape == (2 * I, H)  # GLU: W and V stacked
    assert state["bert.encoder.layer.1.output.dense.weight"].shape == (H, I)
    assert not [k for k in state if k.endswith(".bias") and k not in ("cls.predictions.bias",
                                                                     "cls.predictions.decoder.bias")]
    assert "bert.encoder.layer.0.attention.output.LayerNorm.weight" not in state  # the embeddings' norm serves
    assert state["bert.encoder.layer.1.attention.output.LayerNorm.weight"].shape == (H,)
    assert state["bert.encoder.final_layer_norm.weight"].shape == (H,)
    assert not any("inv_freq" in k for k in state)  # RoPE's frequencies are not weights
    ids = torch.randint(5, V, (2, 11))
    out = BertForMaskedLM(make_config(**MODERN)).eval()(ids, output_hidden_states=True)
    assert out.logits.shape == (2, 11, V) and len(out.hidden_states) == 4


def test_defaults_are_bert_and_old_configs_load() -> None:
    config = make_config()
    assert (config.position_embedding_type, config.feed_forward, config.linear_bias, config.norm_bias,
            config.local_attention, config.first_attention_norm) == ("absolute", "mlp", True, True, 0, True)
    old = {k: v for k, v in config.to_dict().items() if k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "max_position_embeddings", "type_vocab_size", "hidden_dropout_prob", "attention_probs_dropout_prob",
        "layer_norm_eps", "initializer_range", "pad_token_id", "pre_layer_norm", "hidden_act", "roberta_positions")}
    assert BertConfig.from_dict(old) == config  # a config.json written before the options existed
    assert not any(config.is_local_layer(i) for i in range(3))


@pytest.mark.parametrize("changes, field", [
    (dict(position_embedding_type="rope", hidden_size=36, num_attention_heads=4), "position_embedding_type"),
    (dict(position_embedding_type="rope", roberta_positions=True), "roberta_positions"),
    (dict(first_attention_norm=False), "first_attention_norm"),
    (dict(feed_forward="reglu"), "feed_forward"),
    (dict(local_attention=-1), "local_attention"),
])
def test_impossible_combinations_are_refused(changes, field) -> None:
    with pytest.raises(SettingError) as error:
        make_config(**changes)
    assert error.value.field == field


@pytest.mark.parametrize("feed_forward, act", [("geglu", F.gelu), ("swiglu", F.silu)])
def test_glu_is_activation_of_one_half_times_the_other(feed_forward: str, act) -> None:
    block = make_model(feed_forward=feed_forward).bert.encoder.layer[0].intermediate
    x = torch.randn(3, 5, H)
    w, v = block.dense.weight[:I], block.dense.weight[I:]  # (I, H) each
    bw, bv = block.dense.bias[:I], block.dense.bias[I:]
    expected = act(x @ w.T + bw) * (x @ v.T + bv)  # (3, 5, I)
    torch.testing.assert_close(block(x), expected)


def test_glu_size_same_parameters_or_same_width() -> None:
    mlp = ModelSpec(preset="mini").config(8000)
    same = ModelSpec(preset="mini", feed_forward="swiglu").config(8000)
    wide = ModelSpec(preset="mini", feed_forward="swiglu", glu_size="same-width").config(8000)
    assert same.intermediate_size == round(mlp.intermediate_size * 2 / 3) and wide.intermediate_size == 768
    assert abs(count_parameters(same) - count_parameters(mlp)) / count_parameters(mlp) < 0.001
    h, i, layers = mlp.hidden_size, mlp.intermediate_size, mlp.num_hidden_layers
    assert count_parameters(wide) - count_parameters(mlp) == layers * (h * i + i)  # V: one more h x I dense


def test_no_biases_leaves_only_the_decoder_bias() -> None:
    model = make_model(linear_bias=False, norm_bias=False)
    names = [n for n, _ in model.named_parameters() if n.endswith("bias")]
    assert names == ["cls.predictions.bias"]
    assert all(m.bias is None for m in model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.LayerNorm))
               and m is not model.cls.predictions.decoder)


def _far_change_reaches(model: BertForMaskedLM, position: int, far: int) -> bool:
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(5, V, (1, P), generator=g)
    changed = ids.clone()
    changed[0, far] = 5 if ids[0, far] != 5 else 6
    with torch.no_grad():
        a, b = model(ids).logits[0, position], model(changed).logits[0, position]
    return not torch.equal(a, b)


def test_local_layers_cannot_see_past_their_window() -> None:
    # three local layers with a window of 6 (3 each side): position 10 sees at most 9 tokens away, through
    # three hops; a token 10 away changes nothing there, bit for bit, a token 9 away does
    local = make_model(local_attention=6, global_attn_every_n_layers=0)
    assert all(local.config.is_local_layer(i) for i in range(3))
    assert not _far_change_reaches(local, 10, 20) and not _far_change_reaches(local, 10, 0)
    assert _far_change_reaches(local, 10, 19) and _far_change_reaches(local, 10, 1)
    # one global layer (the first, ModernBERT's rule with k = 3) lets the far token in
    mixed = make_model(local_attention=6, global_attn_every_n_layers=3)
    assert [mixed.config.is_local_layer(i) for i in range(3)] == [False, True, True]
    assert _far_change_reaches(mixed, 10, 40)


def test_one_local_layer_attends_exactly_within_half_the_window() -> None:
    model = make_model(num_hidden_layers=1, local_attention=8, global_attn_every_n_layers=0)
    out = model(torch.randint(5, V, (2, 20)), torch.ones(2, 20, dtype=torch.long), output_attentions=True)
    probs = out.attentions[0]  # (B, A, T, T)
    distance = (torch.arange(20)[:, None] - torch.arange(20)[None, :]).abs()
    assert (probs[..., distance > 4] == 0).all() and (probs[..., distance <= 4] > 0).all()


def test_rotary_equals_the_complex_number_formula() -> None:
    # RoPE as Su et al. write it: pair j of a head vector, (x_j, x_{j + hs/2}) as x_j + i x_{j + hs/2}, times
    # e^{i m theta_j} at position m, theta_j = base^(-2j/hs)
    hs, base, T = 8, 500.0, 6
    rotary = RotaryEmbedding(hs, base)
    q, k = torch.randn(2, 3, T, hs), torch.randn(2, 3, T, hs)
    positions = torch.arange(T) + 3
    q_rot, k_rot = rotary(q, k, positions)
    theta = base ** (-torch.arange(0, hs, 2, dtype=torch.float64) / hs)  # (hs/2,)
    z = torch.complex(q[..., :hs // 2].double(), q[..., hs // 2:].double())
    turned = z * torch.polar(torch.ones_like(theta), positions[:, None].double() * theta)  # (2, 3, T, hs/2)
    torch.testing.assert_close(q_rot, torch.cat((turned.real, turned.imag), dim=-1).float())  # fp32 tolerance
    # scores depend on distance only: q at m and k at n score as q at m + s and k at n + s
    shifted_q, shifted_k = rotary(q, k, positions + 11)
    torch.testing.assert_close(q_rot @ k_rot.transpose(-1, -2), shifted_q @ shifted_k.transpose(-1, -2))


def test_rope_model_sees_only_relative_positions() -> None:
    model = make_model(position_embedding_type="rope", local_attention=6, global_attn_every_n_layers=2,
                       initializer_range=0.3)  # weights large enough for positions to show in the logits
    ids = torch.randint(5, V, (2, 12))
    with torch.no_grad():
        plain = model(ids).logits
        shifted = model(ids, position_ids=torch.arange(12) + 17).logits
        absolute = make_model(position_embedding_type="absolute")(ids, position_ids=torch.arange(12) + 17).logits
    torch.testing.assert_close(plain, shifted, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(absolute, make_model(position_embedding_type="absolute")(ids).logits)
    # and order matters: the same tokens read backwards (every distance negated) give other logits
    with torch.no_grad():
        backwards = model(ids.flip(1)).logits.flip(1)
    assert (plain - backwards).abs().max() > 100 * (plain - shifted).abs().max() + 1e-3


def test_rope_global_and_local_layers_use_their_own_base() -> None:
    model = make_model(position_embedding_type="rope", rope_theta=160000.0, local_rope_theta=10000.0,
                       local_attention=6, global_attn_every_n_layers=3)
    hs = H // A
    bases = [layer.attention.self.rotary.inv_freq[1].item() for layer in model.bert.encoder.layer]
    assert bases == pytest.approx([160000.0 ** (-2 / hs), 10000.0 ** (-2 / hs), 10000.0 ** (-2 / hs)])


@pytest.mark.parametrize("changes", [MODERN, dict(feed_forward="swiglu", local_attention=4,
                                                  global_attn_every_n_layers=0)], ids=["modernbert", "swiglu-local"])
def test_loss_at_labelled_rows_equals_the_full_logits_and_trains(changes) -> None:
    model = make_model(**changes)
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(5, V, (3, 16), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0  # a padded row
    labels = torch.where((torch.rand(3, 16, generator=g) < 0.3) & mask.bool(), ids, -100)
    with torch.no_grad():
        full = model(ids, mask).logits  # (B, T, V)
        out = model(ids, mask, labels=labels)
    torch.testing.assert_close(out.logits, full[labels != -100], atol=1e-5, rtol=1e-5)
    expected = F.cross_entropy(full[labels != -100], labels[labels != -100])
    assert math.isclose(out.loss.item(), expected.item(), rel_tol=1e-5)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(25):
        loss = model(ids, mask, labels=labels).loss
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first
