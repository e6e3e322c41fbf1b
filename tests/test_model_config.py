from __future__ import annotations

import pytest
import torch

from workbench.core.model_config import (
    PRESET_DEFAULT_SIZES,
    PRESETS,
    BertConfig,
    ConfigError,
    MemoryEstimate,
    count_parameters,
    estimate_training_memory,
    preset_config,
)
from workbench.core.modeling_bert import BertForMaskedLM


def test_defaults_are_hf_names_and_values():
    config = BertConfig(vocab_size=99)
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads) == (256, 4, 4)
    assert (config.intermediate_size, config.max_position_embeddings, config.type_vocab_size) == (1024, 128, 2)
    assert config.layer_norm_eps == 1e-12 and config.initializer_range == 0.02 and config.pad_token_id == 0
    assert config.hidden_act == "gelu" and config.pre_layer_norm is False
    config.validate()


def test_dict_round_trip_and_unknown_keys_rejected():
    config = BertConfig(vocab_size=99, hidden_size=32, num_attention_heads=4, pre_layer_norm=True)
    assert BertConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ConfigError) as err:
        BertConfig.from_dict({**config.to_dict(), "model_type": "bert"})
    assert err.value.field == "model_type" and "unknown field" in str(err.value)
    with pytest.raises(ConfigError, match="vocab_size"):
        BertConfig.from_dict({"hidden_size": 32})


@pytest.mark.parametrize("changes, field, allowed", [
    (dict(num_attention_heads=3), "num_attention_heads", "divide hidden_size=32"),
    (dict(max_position_embeddings=7), "max_position_embeddings", ">= 8"),
    (dict(vocab_size=4), "vocab_size", "at least 5"),
    (dict(hidden_size=0), "hidden_size", "positive"),
    (dict(num_hidden_layers=-1), "num_hidden_layers", "positive"),
    (dict(intermediate_size=2.5), "intermediate_size", "integer"),
    (dict(num_attention_heads=True), "num_attention_heads", "integer"),
    (dict(hidden_dropout_prob=1.0), "hidden_dropout_prob", "[0, 1)"),
    (dict(attention_probs_dropout_prob=-0.1), "attention_probs_dropout_prob", "[0, 1)"),
    (dict(layer_norm_eps=0.0), "layer_norm_eps", "(0, 1)"),
    (dict(pad_token_id=99), "pad_token_id", "[0, vocab_size=99)"),
    (dict(hidden_act="swish"), "hidden_act", "gelu"),
    (dict(pre_layer_norm="yes"), "pre_layer_norm", "true or false"),
])
def test_validate_names_the_field_and_what_is_allowed(changes, field, allowed):
    config = BertConfig(**{**dict(vocab_size=99, hidden_size=32, num_attention_heads=4), **changes})
    with pytest.raises(ConfigError) as err:
        config.validate()
    assert isinstance(err.value, ValueError)
    assert err.value.field == field
    assert str(err.value).startswith(field + ":") and allowed in str(err.value)


def test_presets_validate_and_unknown_preset_lists_them():
    for name, (vocab, max_len) in PRESET_DEFAULT_SIZES.items():
        config = preset_config(name, vocab, max_len)
        assert config.num_hidden_layers == PRESETS[name]["num_hidden_layers"]
    assert set(PRESET_DEFAULT_SIZES) == set(PRESETS)
    assert preset_config("tiny", 99, 16, pre_layer_norm=True).pre_layer_norm
    with pytest.raises(ConfigError) as err:
        preset_config("huge", 8000, 128)
    assert err.value.field == "preset" and "seed-demo" in str(err.value) and "large" in str(err.value)
    with pytest.raises(ConfigError, match="max_position_embeddings"):
        preset_config("tiny", 8000, 4)


def test_count_parameters_matches_hf_bert_base_and_large():
    # HF bert-base-uncased / bert-large-uncased BertForMaskedLM().num_parameters()
    assert count_parameters(preset_config("base", 30522, 512)) == 109_514_298
    assert count_parameters(preset_config("large", 30522, 512)) == 335_174_458
    assert 250_000 < count_parameters(preset_config("seed-demo", *PRESET_DEFAULT_SIZES["seed-demo"])) < 290_000


@pytest.mark.parametrize("config", [
    BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
               max_position_embeddings=9, type_vocab_size=3),
    BertConfig(vocab_size=101, hidden_size=30, num_hidden_layers=3, num_attention_heads=5, intermediate_size=64,
               pre_layer_norm=True, type_vocab_size=1),
    preset_config("seed-demo", 2400, 128),
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
    assert est.total == est.weights + est.gradients + est.optimizer_state + est.activations
    assert est.to_dict()["total"] == est.total
    double = estimate_training_memory(config, batch_size=16, seq_len=128)
    assert double.activations == pytest.approx(2 * est.activations, rel=1e-3)  # linear in batch
    assert estimate_training_memory(config, 8, 64).activations < est.activations
    bf16 = estimate_training_memory(config, 8, 128, precision="bf16")
    assert bf16.activations < est.activations and bf16.weights > est.weights  # 16-bit copies cached
    with pytest.raises(ConfigError, match="precision"):
        estimate_training_memory(config, 8, 128, precision="fp8")


def test_memory_estimate_bounds_what_autograd_saves():
    """The activation estimate is close to the bytes autograd actually keeps for backward. Dropout is off:
    on CPU it keeps fp32 masks and unfused attention, which the (CUDA-minded) estimate does not model."""
    config = BertConfig(vocab_size=500, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=256, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    model = BertForMaskedLM(config).train()
    torch.manual_seed(0)
    ids = torch.randint(5, 500, (8, 64))
    labels = torch.where(torch.rand(8, 64) < 0.15, ids, -100)
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}  # storage -> bytes; a tensor saved by several ops counts once

    def pack(t: torch.Tensor) -> torch.Tensor:
        if t.untyped_storage().data_ptr() not in weights:
            saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model(ids, labels=labels)
    measured = sum(saved.values()) + out.logits.numel() * 4 * 2  # + logits kept by the caller and their grad
    estimate = estimate_training_memory(config, 8, 64, mlm_probability=(labels != -100).float().mean().item())
    assert measured < estimate.activations < measured * 1.15
