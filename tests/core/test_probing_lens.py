"""The per-layer fill-mask lens: its last layer is ordinary fill-mask, every earlier depth equals the MLM head
applied by hand to that layer's hidden state (through the final LayerNorm on a pre-LN model), ranks count the
tokens scored higher, answers are the given words or the final top-1, and ablation reaches the lens too."""

from __future__ import annotations

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import ProbeInputError, encode_text, fill_mask
from workbench.core.probing.ablation import head_mask_for
from workbench.core.probing.lens import FINAL_TOP, GIVEN, depth_label, layer_lens
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

TEXT = "the farmer feeds the [MASK] and the dog says [MASK]."


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


def make_model(tokenizer, pre_layer_norm: bool) -> BertForMaskedLM:
    torch.manual_seed(7)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=3, num_attention_heads=3,
                        intermediate_size=37, max_position_embeddings=40, pre_layer_norm=pre_layer_norm)
    return BertForMaskedLM(config).eval()


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_the_last_layer_is_ordinary_fill_mask(tokenizer, pre_layer_norm: bool) -> None:
    model = make_model(tokenizer, pre_layer_norm)
    lens = layer_lens(model, tokenizer, TEXT, top_k=4)
    fill = fill_mask(model, tokenizer, TEXT, top_k=4)
    assert [m.position for m in lens.masks] == [m.position for m in fill.masks]
    for mask, filled in zip(lens.masks, fill.masks):
        assert len(mask.layers) == 4 and [r.depth for r in mask.layers] == [0, 1, 2, 3]
        last = mask.layers[-1]
        assert [p.token_id for p in last.predictions] == [p.token_id for p in filled.predictions]
        assert [p.probability for p in last.predictions] == pytest.approx(
            [p.probability for p in filled.predictions], abs=1e-6)
        assert mask.answer_source == FINAL_TOP and mask.answer_id == filled.predictions[0].token_id
        assert last.answer_rank == 1 and mask.settles_at is not None


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_every_depth_equals_the_head_applied_by_hand(tokenizer, pre_layer_norm: bool) -> None:
    model = make_model(tokenizer, pre_layer_norm)
    lens = layer_lens(model, tokenizer, TEXT, top_k=3, answers=["cow", "moo"])
    ids = torch.tensor([encode_text(tokenizer, TEXT)])
    with torch.no_grad():
        x = model.bert.embeddings(ids)  # (1, T, H)
        states = [x]
        for layer in model.bert.encoder.layer:
            x, _ = layer(x, None, False)
            states.append(x)
        for mask in lens.masks:
            assert mask.answer_source == GIVEN
            for reading, state in zip(mask.layers, states):
                h = state[0, mask.position]
                if pre_layer_norm:
                    h = model.bert.encoder.final_layer_norm(h)
                t = model.cls.predictions.transform
                probs = model.cls.predictions.decoder(t.LayerNorm(t.transform_act_fn(t.dense(h)))).softmax(-1)
                expected = probs.topk(3)
                assert [p.token_id for p in reading.predictions] == expected.indices.tolist()
                assert reading.answer_probability == pytest.approx(float(probs[mask.answer_id]), abs=1e-6)
                assert reading.answer_rank == int((probs > probs[mask.answer_id]).sum()) + 1
    assert [m.answer for m in lens.masks] == [tokenizer.id_to_token(tokenizer.encode(w)[0]) for w in ("cow", "moo")]


def test_one_answer_serves_every_mask_and_a_wrong_count_is_refused(tokenizer) -> None:
    model = make_model(tokenizer, False)
    lens = layer_lens(model, tokenizer, TEXT, answers=["moo"])
    assert {m.answer_id for m in lens.masks} == {tokenizer.encode("moo")[0]}
    with pytest.raises(ProbeInputError, match="one answer per mask"):
        layer_lens(model, tokenizer, TEXT, answers=["a", "b", "c"])
    with pytest.raises(ProbeInputError, match="no mask"):
        layer_lens(model, tokenizer, "the cow says moo.")


def test_ablation_reaches_the_lens_from_the_ablated_layer_on(tokenizer) -> None:
    model = make_model(tokenizer, False)
    intact = layer_lens(model, tokenizer, TEXT, answers=["cow", "moo"])
    ablated = layer_lens(model, tokenizer, TEXT, answers=["cow", "moo"], head_mask=head_mask_for(model, [(1, 0)]))
    for before, after in zip(intact.masks, ablated.masks):
        assert [r.answer_probability for r in before.layers[:2]] == [r.answer_probability for r in after.layers[:2]]
        assert before.layers[2].answer_probability != after.layers[2].answer_probability
    assert depth_label(0) == "embeddings" and depth_label(3) == "layer 2"
    assert "settles_at" in intact.to_dict()["masks"][0]
