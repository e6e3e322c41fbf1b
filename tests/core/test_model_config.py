from __future__ import annotations

import pytest
import torch

from workbench.core.model_config import (
    CPU_HEAP_SLACK,
    CPU_RUNTIME_BYTES,
    MemoryEstimate,
    count_parameters,
    estimate_training_memory,
)
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.settings.base import SettingError
from workbench.settings.model import PRESET_DEFAULT_SIZES, PRESETS, BertConfig, preset_config


def test_defaults_are_hf_names_and_values():
    config = BertConfig(vocab_size=99)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (256, 4, 4)
    assert (config.intermediate_size, config.max_position_embeddings, config.type_vocab_size) == (1024, 128, 2)
    assert config.layer_norm_eps == 1e-12 and config.initializer_range == 0.02 and config.pad_token_id == 0
    assert config.hidden_act == "gelu" and config.pre_layer_norm is False


def test_dict_round_trip_and_unknown_keys_rejected():
    config = BertConfig(vocab_size=99, hidden_size=32, num_attention_heads=4, pre_layer_norm=True)
    assert BertConfig.from_dict(config.to_dict()) == config
    with pytest.raises(SettingError) as err:
        BertConfig.from_dict({**config.to_dict(), "model_type": "bert"})
    assert err.value.field == "model_type" and "is not a model setting" in str(err.value)
    with pytest.raises(SettingError, match="vocab_size"):
        BertConfig.from_dict({"hidden_size": 32})


@pytest.mark.parametrize("changes, field, allowed", [
    (dict(num_attention_heads=3), "num_attention_heads", "divide the hidden size 32"),
    (dict(max_position_embeddings=7), "max_position_embeddings", ">= 8"),
    (dict(vocab_size=4), "vocab_size", ">= 5"),
    (dict(hidden_size=0), "hidden_size", ">= 1"),
    (dict(num_hidden_layers=-1), "num_hidden_layers", ">= 1"),
    (dict(intermediate_size=2.5), "intermediate_size", "integer"),
    (dict(num_attention_heads=True), "num_attention_heads", "integer"),
    (dict(hidden_dropout_prob=1.0), "hidden_dropout_prob", "[0, 1)"),
    (dict(attention_probs_dropout_prob=-0.1), "attention_probs_dropout_prob", "[0, 1)"),
    (dict(layer_norm_eps=0.0), "layer_norm_eps", "(0, 1)"),
    (dict(pad_token_id=99), "pad_token_id", "below the vocabulary size 99"),
    (dict(hidden_act="swish"), "hidden_act", "gelu"),
    (dict(pre_layer_norm="yes"), "pre_layer_norm", "true or false"),
])
def test_validate_names_the_field_and_what_is_allowed(changes, field, allowed):
    with pytest.raises(SettingError) as err:  # a config that is not allowed cannot be built
        BertConfig(**{**dict(vocab_size=99, hidden_size=32, num_attention_heads=4), **changes})
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
    assert str(err.value).startswith(field + " must") and allowed in str(err.value)


def test_presets_validate_and_unknown_preset_lists_them():
    for name, (vocab, max_len) in PRESET_DEFAULT_SIZES.items():
        config = preset_config(name, vocab, max_len)
        assert config.num_hidden_layers == PRESETS[name]["num_hidden_layers"]
    assert set(PRESET_DEFAULT_SIZES) == set(PRESETS)
    assert preset_config("tiny", 99, 16, pre_layer_norm=True).pre_layer_norm
    with pytest.raises(SettingError) as err:
        preset_config("huge", 8000, 128)
    assert err.value.field == "preset" and "seed-demo" in str(err.value) and "large" in str(err.value)
    with pytest.raises(SettingError, match="max_position_embeddings"):
        preset_config("tiny", 8000, 4)


def test_count_parameters_matches_hf_bert_base_and_large():
    # HF bert-base-uncased / bert-large-uncased BertForMaskedLM().num_parameters()
    assert count_parameters(preset_config("base", 30522, 512)) == 109_514_298
    assert count_parameters(preset_config("large", 30522, 512)) == 335_174_458
    # seed-demo: the tutorial's character model, about 270,000 parameters with its 29 symbols
    assert PRESET_DEFAULT_SIZES["seed-demo"] == (29, 128)
    assert count_parameters(preset_config("seed-demo", 29, 128)) == 269_029


@pytest.mark.parametrize("config", [
    BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
               max_position_embeddings=9, type_vocab_size=3),
    BertConfig(vocab_size=101, hidden_size=30, num_hidden_layers=3, num_attention_heads=5, intermediate_size=64,
               pre_layer_norm=True, type_vocab_size=1),
    preset_config("seed-demo", 29, 128),
    preset_config("mini", 1000, 64, pre_layer_norm=True),
])
def test_count_parameters_equals_built_model(config):
    model = BertForMaskedLM(config)
    assert count_parameters(config) == sum(p.numel() for p in model.parameters())


def test_memory_estimate_parts_and_scaling():
    config = preset_config("small", 8000, 128)
    params = count_parameters(config)
    est = estimate_training_memory(config, batch_size=8, seq_len=128)
    assert isinstance(est, MemoryEstimate)
    assert (est.weights, est.gradients, est.optimizer_state) == (4 * params, 4 * params, 8 * params)
    tensors = est.weights + est.gradients + est.optimizer_state + est.activations
    assert est.runtime == CPU_RUNTIME_BYTES + round(CPU_HEAP_SLACK * tensors)
    assert est.total == tensors + est.runtime and est.to_dict()["total"] == est.total
    double = estimate_training_memory(config, batch_size=16, seq_len=128)
    assert double.activations == pytest.approx(2 * est.activations, rel=1e-3)  # linear in batch
    assert estimate_training_memory(config, 8, 64).activations < est.activations
    bf16 = estimate_training_memory(config, 8, 128, precision="bf16")
    h, i, layers = config.hidden_size, config.intermediate_size, config.num_hidden_layers
    matmul_weights = layers * (4 * h * h + 2 * h * i) + h * h + config.vocab_size * h
    assert bf16.weights == est.weights + 2 * matmul_weights  # the 16-bit copies autograd keeps
    assert bf16.activations < est.activations
    cuda = estimate_training_memory(config, 8, 128, device="cuda")
    assert cuda.runtime == 0 and cuda.total == cuda.weights + cuda.gradients + cuda.optimizer_state + cuda.activations
    assert cuda.activations < est.activations  # 1-byte bool dropout masks instead of fp32 ones
    with pytest.raises(SettingError, match="precision"):
        estimate_training_memory(config, 8, 128, precision="fp8")
    with pytest.raises(SettingError, match="device"):
        estimate_training_memory(config, 8, 128, device="tpu")


def test_memory_estimate_matches_a_hand_count():
    config = BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=16, max_position_embeddings=8)  # dropout 0.1, GELU, post-LN
    n, h, i, v, tt = 4, 8, 16, 10, 2 * 4 * 4  # one sequence of 4 tokens, 1 of them masked; tt = B*A*T*T
    layer_norm = h * 4 + 2 * 4  # per token: fp32 input + mean and rstd
    embeddings = 2 * n * 8 + 4 * 8 + n * layer_norm + n * h * 4  # word and type ids, positions, LN, mask
    # the only layer is the last: after attention it runs at the masked token alone
    attention = 4 * n * h * 4 + h * 4 + tt * 3 * 4  # x, q, k, v; the context row; softmax out, mask, dropped
    rest_of_layer = 2 * layer_norm + 2 * h * 4 + h * 4 + 2 * i * 4  # LNs, masks, FFN input, GELU in and out
    head = n + 2 * 8 + 4 * h * 4 + v * (4 + 4 + 8)  # 1 masked token: mask, target, transform, vocab rows
    assert embeddings + attention + rest_of_layer + head == 1924
    assert estimate_training_memory(config, 1, 4, mlm_probability=0.25).activations == 1924


def test_memory_estimate_attention_is_quadratic_in_seq_len_with_dropout_only():
    config = preset_config("mini", 8000, 512)
    fused = preset_config("mini", 8000, 512, attention_probs_dropout_prob=0.0)

    def attention_part(seq_len: int, precision: str = "fp32") -> int:
        return (estimate_training_memory(config, 2, seq_len, precision).activations
                - estimate_training_memory(fused, 2, seq_len, precision).activations)

    per_batch = 2 * config.num_attention_heads * config.num_hidden_layers  # B * A, every layer
    for seq_len in (64, 128, 256):
        # three (B, A, T, T) fp32 tensors kept instead of the fused kernel's logsumexp (B, A, T); the fused
        # kernel also keeps its whole (B, T, H) output in the last layer, where the next dense reads 15% of it
        last_context = 2 * seq_len * config.hidden_size
        assert attention_part(seq_len) == per_batch * (seq_len * seq_len * 12 - seq_len * 4) - 4 * last_context
        # the softmax output stays fp32 under autocast; mask and dropped probabilities are 16-bit
        assert attention_part(seq_len, "bf16") == (per_batch * (seq_len * seq_len * 8 - seq_len * 4)
                                                   - 2 * last_context)
    assert attention_part(512) / attention_part(256) == pytest.approx(4, rel=0.02)


@pytest.mark.parametrize("dropout", [0.0, 0.1])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("shape", [
    dict(pre_layer_norm=False, hidden_act="gelu"), dict(pre_layer_norm=True, hidden_act="relu"),
    dict(pre_layer_norm=True, first_attention_norm=False, feed_forward="geglu", position_embedding_type="rope",
         local_attention=8, global_attn_every_n_layers=2, linear_bias=False, norm_bias=False),  # ModernBERT's
    dict(feed_forward="swiglu", local_attention=8, global_attn_every_n_layers=0),
    dict(position_embedding_type="alibi", feed_forward="geglu"),  # MosaicBERT's
], ids=["post-ln-gelu", "pre-ln-relu", "modernbert", "swiglu-local", "alibi"])
def test_memory_estimate_counts_what_autograd_saves(dropout, precision, shape):
    """Activations equal the bytes autograd keeps for backward (one count per storage) plus the logits the
    caller holds and the two fp32 (N, V) gradients at the start of backward; under autocast the 16-bit
    weight copies it keeps are the estimate's extra weight bytes. Dropout off runs the fused attention."""
    config = BertConfig(vocab_size=300, hidden_size=48, num_hidden_layers=2, num_attention_heads=3,
                        intermediate_size=100, max_position_embeddings=64, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, **shape)
    model = BertForMaskedLM(config).train()
    torch.manual_seed(0)
    ids = torch.randint(5, 300, (3, 40))
    labels = torch.where(torch.rand(3, 40) < 0.15, ids, -100)
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}  # storage -> bytes; a tensor saved by several ops counts once
    weight_copies: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = t.untyped_storage().data_ptr()
        if key not in weights:
            is_copy = t.grad_fn is not None and type(t.grad_fn).__name__ == "TBackward0"  # a cast weight, transposed
            (weight_copies if is_copy else saved)[key] = t.untyped_storage().nbytes()
        return t

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = model(ids, torch.ones_like(ids), labels=labels)
    measured = sum(saved.values()) + out.logits.untyped_storage().nbytes() + 2 * out.logits.numel() * 4
    estimate = estimate_training_memory(config, 3, 40, precision, mlm_probability=out.logits.shape[0] / 120)
    assert abs(estimate.activations - measured) <= 16  # the loss's two scalars
    assert estimate.weights - 4 * count_parameters(config) == sum(weight_copies.values())
