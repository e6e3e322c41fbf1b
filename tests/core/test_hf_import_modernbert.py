"""A Hugging Face `ModernBertForMaskedLM` folder read into our encoder: a tiny random model built offline with
`transformers` (pre-LN without layer 0's attention norm, RoPE with two bases, GeGLU, no biases, sliding-window
layers with a global one every third) gives the same logits as `transformers`, at full length (longer than the
window) and padded, and its config.json maps onto our architecture options one to one; our models in that layout
export as `ModernBertForMaskedLM` and `transformers` reads the same logits from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.hf_import import HFImportError, load_hf_model

transformers = pytest.importorskip("transformers")

TOLERANCE = 1e-4
VOCAB, LENGTH = 120, 64


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    path = tmp_path_factory.mktemp("modernbert")
    torch.manual_seed(0)
    config = transformers.ModernBertConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=40, num_hidden_layers=4, num_attention_heads=2,
        max_position_embeddings=LENGTH, local_attention=8, global_attn_every_n_layers=3, pad_token_id=0,
        bos_token_id=1, eos_token_id=2, cls_token_id=1, sep_token_id=2, initializer_range=0.2)
    model = transformers.ModernBertForMaskedLM(config).eval()
    with torch.no_grad():  # LayerNorm weights and the decoder bias off their init values: every mapping counts
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    model.save_pretrained(path)
    return path, model


def test_config_maps_onto_the_architecture_options(folder) -> None:
    imported = load_hf_model(folder[0])
    config = imported.model.config
    assert imported.family == "modernbert" and imported.architecture == "ModernBertForMaskedLM"
    assert (config.position_embedding_type, config.rope_theta, config.local_rope_theta) == ("rope", 160000.0, 10000.0)
    assert (config.feed_forward, config.intermediate_size, config.linear_bias, config.norm_bias) == \
        ("geglu", 40, False, False)
    assert (config.pre_layer_norm, config.first_attention_norm, config.type_vocab_size) == (True, False, 0)
    assert (config.local_attention, config.global_attn_every_n_layers) == (8, 3)
    assert [config.is_local_layer(i) for i in range(4)] == [False, True, True, False]


def test_logits_equal_transformers_at_full_length_and_with_padding(folder) -> None:
    path, hf = folder
    ours = load_hf_model(path).model
    g = torch.Generator().manual_seed(1)
    full = torch.randint(3, VOCAB, (2, LENGTH), generator=g)  # 64 tokens, a window of 8
    mask = torch.ones_like(full)
    padded, padded_mask = full.clone(), mask.clone()
    padded[1, 40:], padded_mask[1, 40:] = 0, 0
    with torch.no_grad():
        theirs_full = hf(input_ids=full, attention_mask=mask).logits
        diff_full = (ours(full, mask).logits - theirs_full).abs().max().item()
        theirs = hf(input_ids=padded, attention_mask=padded_mask).logits
        mine = ours(padded, padded_mask).logits
    real = padded_mask.bool()
    diff_padded = (mine[real] - theirs[real]).abs().max().item()
    assert diff_full < TOLERANCE and diff_padded < TOLERANCE, (diff_full, diff_padded)
    assert theirs_full.std() > 0.1  # the weights are not trivial: the comparison means something


def test_unsupported_modernbert_configs_are_refused(folder, tmp_path: Path) -> None:
    path, _ = folder
    config = json.loads((path / "config.json").read_text())
    target = tmp_path / "config.json"
    for change, words in ((dict(mlp_bias=True), "differ"), (dict(hidden_activation="relu"), "hidden_activation"),
                          (dict(layer_types=["sliding_attention", "full_attention", "sliding_attention",
                                             "full_attention"]), "layer_types")):
        target.write_text(json.dumps({**config, **change}))
        (tmp_path / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
        with pytest.raises(HFImportError, match=words):
            load_hf_model(tmp_path)


def test_the_older_config_spelling_maps_alike(folder, tmp_path: Path) -> None:
    # configs on the Hub written before transformers 5: global_attn_every_n_layers and two theta keys
    path, _ = folder
    config = json.loads((path / "config.json").read_text())
    del config["layer_types"], config["rope_parameters"]
    (tmp_path / "config.json").write_text(json.dumps({**config, "global_attn_every_n_layers": 2,
                                                      "global_rope_theta": 50000.0, "local_rope_theta": 2000.0}))
    (tmp_path / "model.safetensors").write_bytes((path / "model.safetensors").read_bytes())
    ours = load_hf_model(tmp_path).model.config
    assert (ours.global_attn_every_n_layers, ours.rope_theta, ours.local_rope_theta) == (2, 50000.0, 2000.0)


@pytest.mark.parametrize("changes", [dict(), dict(feed_forward="swiglu", linear_bias=True, local_attention=0)],
                         ids=["modernbert", "swiglu-biases-all-global"])
def test_our_modernbert_layout_exports_and_transformers_reads_the_same_logits(tmp_path: Path, changes) -> None:
    from safetensors.torch import save_file

    from workbench.core.hf_export import hf_config, hf_state_dict, plan_export
    from workbench.core.modeling_bert import BertForMaskedLM
    from workbench.settings.model import BertConfig

    config = BertConfig(**{**dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                                  intermediate_size=40, max_position_embeddings=LENGTH, type_vocab_size=0,
                                  pre_layer_norm=True, first_attention_norm=False, position_embedding_type="rope",
                                  rope_theta=160000.0, feed_forward="geglu", linear_bias=False, norm_bias=False,
                                  local_attention=8, global_attn_every_n_layers=3, layer_norm_eps=1e-5,
                                  initializer_range=0.2), **changes})
    torch.manual_seed(3)
    ours = BertForMaskedLM(config).eval()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or name.endswith("bias"):
                p.add_(0.2 * torch.randn_like(p))
    plan = plan_export(config, "bpe", 0)
    assert plan.architecture == "ModernBertForMaskedLM"
    (tmp_path / "config.json").write_text(json.dumps(hf_config(plan, config, bos_id=1, eos_id=2)))
    save_file(hf_state_dict(plan, ours.state_dict()), str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    hf = transformers.ModernBertForMaskedLM.from_pretrained(tmp_path).eval()
    ids = torch.randint(3, VOCAB, (2, LENGTH), generator=torch.Generator().manual_seed(4))
    mask = torch.ones_like(ids)
    mask[1, 30:] = 0
    with torch.no_grad():
        mine, theirs = ours(ids, mask).logits, hf(input_ids=ids, attention_mask=mask).logits
        back = load_hf_model(tmp_path).model(ids, mask).logits
    real = mask.bool()
    assert (mine[real] - theirs[real]).abs().max().item() < TOLERANCE
    assert torch.equal(back, mine)
