"""Head ablation: a head switched off changes exactly its own output (the other heads of its layer and every
earlier layer stay as they were), the layer it sits in equals a recomputation by hand with that head's context
zeroed or replaced by its mean over the real tokens, padding does not enter the mean, a per-sequence mask equals
separate runs, the weights never change, and `rank_heads` (which restarts each layer from the intact state)
equals a full forward with each head off, on post-LN and pre-LN models; suite ranking equals evaluate_suite."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing import ProbeInputError, encode_text
from workbench.core.probing.ablation import (
    format_heads,
    head_mask_for,
    parse_heads,
    rank_heads,
    rank_heads_on_suite,
)
from workbench.core.probing.fill_mask import mask_probabilities
from workbench.core.probing.suites import ProbeItem, ProbeSuite, evaluate_suite
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

TEXT = "the farmer feeds the [MASK] and the dog says [MASK]."
LAYERS, HEADS, HIDDEN = 3, 3, 24


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


def make_model(tokenizer, pre_layer_norm: bool = False, seed: int = 5) -> BertForMaskedLM:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                        num_attention_heads=HEADS, intermediate_size=37, max_position_embeddings=40,
                        pre_layer_norm=pre_layer_norm)
    return BertForMaskedLM(config).eval()


@pytest.fixture(scope="module")
def model(tokenizer):
    return make_model(tokenizer)


def contexts(model: BertForMaskedLM, input_ids: torch.Tensor, head_mask: HeadMask | None,
             attention_mask: torch.Tensor | None = None):
    """Each layer's self-attention output (B, A, T, hs), caught on its way out, and the hidden states."""
    caught = []
    hooks = [layer.attention.self.register_forward_hook(
        lambda _m, _i, out: caught.append(out[0].view(*out[0].shape[:2], HEADS, -1).transpose(1, 2)))
        for layer in model.bert.encoder.layer]
    try:
        with torch.no_grad():
            out = model.bert(input_ids, attention_mask, output_hidden_states=True, head_mask=head_mask)
    finally:
        for hook in hooks:
            hook.remove()
    return caught, out.hidden_states


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_a_switched_off_head_changes_exactly_its_own_output(model, tokenizer, mode: str) -> None:
    ids = torch.tensor([encode_text(tokenizer, TEXT)])
    layer, head = 1, 2
    intact_ctx, intact_states = contexts(model, ids, None)
    ablated_ctx, ablated_states = contexts(model, ids, head_mask_for(model, [(layer, head)], mode))
    for earlier in range(layer + 1):  # the embeddings and every layer before the ablated one
        assert torch.equal(intact_states[earlier], ablated_states[earlier])
    for earlier in range(layer):
        assert torch.equal(intact_ctx[earlier], ablated_ctx[earlier])
    others = [h for h in range(HEADS) if h != head]
    assert torch.equal(intact_ctx[layer][:, others], ablated_ctx[layer][:, others])
    switched = ablated_ctx[layer][0, head]  # (T, hs)
    expected = torch.zeros_like(switched) if mode == "zero" else \
        intact_ctx[layer][0, head].mean(dim=0, keepdim=True).expand_as(switched)
    torch.testing.assert_close(switched, expected, rtol=0, atol=1e-6)
    assert not torch.allclose(intact_states[layer + 1], ablated_states[layer + 1])  # and it matters downstream


@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_the_ablated_layer_equals_a_recomputation_by_hand(model, tokenizer, mode: str) -> None:
    ids = torch.tensor([encode_text(tokenizer, TEXT)])
    layer_index, head = 2, 0
    _, states = contexts(model, ids, head_mask_for(model, [(layer_index, head)], mode))
    layer = model.bert.encoder.layer[layer_index]
    attention = layer.attention.self
    x = states[layer_index][0]  # (T, H): what enters the layer (unchanged by the ablation)
    T, hs = x.shape[0], HIDDEN // HEADS
    with torch.no_grad():
        q, k, v = (proj(x).view(T, HEADS, hs).transpose(0, 1)
                   for proj in (attention.query, attention.key, attention.value))
        context = (q @ k.transpose(-1, -2) / math.sqrt(hs)).softmax(dim=-1) @ v  # (A, T, hs)
        context[head] = 0.0 if mode == "zero" else context[head].mean(dim=0)
        h = layer.attention.output.LayerNorm(x + layer.attention.output.dense(context.transpose(0, 1).reshape(T, -1)))
        expected = layer.output.LayerNorm(h + layer.output.dense(layer.intermediate(h)))
    torch.testing.assert_close(states[layer_index + 1][0], expected, rtol=1e-5, atol=1e-5)


def test_mean_ablation_averages_over_real_tokens_only(model, tokenizer) -> None:
    ids = encode_text(tokenizer, TEXT)
    padded = torch.tensor([ids + [tokenizer.pad_id] * 5])
    attention_mask = torch.tensor([[1] * len(ids) + [0] * 5])
    mask = head_mask_for(model, [(0, 1), (2, 2)], "mean")
    with torch.no_grad():
        alone = model.bert(torch.tensor([ids]), head_mask=mask).last_hidden_state[0]
        with_padding = model.bert(padded, attention_mask, head_mask=mask).last_hidden_state[0, :len(ids)]
    torch.testing.assert_close(with_padding, alone, rtol=1e-5, atol=1e-5)


def test_a_mask_per_sequence_equals_separate_runs(model, tokenizer) -> None:
    ids = torch.tensor([encode_text(tokenizer, TEXT)] * 2)
    keep = torch.ones(2, LAYERS, HEADS)
    keep[0, 1, 1] = 0.0
    keep[1, 2, 0] = 0.0
    with torch.no_grad():
        together = model.bert(ids, head_mask=HeadMask(keep, "mean")).last_hidden_state
        for row in range(2):
            alone = model.bert(ids[row:row + 1], head_mask=HeadMask(keep[row], "mean")).last_hidden_state
            torch.testing.assert_close(together[row], alone[0], rtol=1e-5, atol=1e-5)


def test_ablation_never_changes_a_weight_and_all_heads_on_is_the_intact_model(model, tokenizer) -> None:
    before = {name: value.clone() for name, value in model.state_dict().items()}
    ids = encode_text(tokenizer, TEXT)
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    rank_heads(model, tokenizer, TEXT, mode="mean")
    mask_probabilities(model, ids, positions, head_mask_for(model, [(0, 0)], "zero"))
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    torch.testing.assert_close(mask_probabilities(model, ids, positions, HeadMask(torch.ones(LAYERS, HEADS))),
                               mask_probabilities(model, ids, positions), rtol=0, atol=1e-7)


@pytest.mark.parametrize("pre_layer_norm", [False, True])
@pytest.mark.parametrize("mode", ["zero", "mean"])
def test_rank_heads_equals_a_full_forward_with_each_head_off(tokenizer, pre_layer_norm: bool, mode: str) -> None:
    model = make_model(tokenizer, pre_layer_norm, seed=11)
    ranking = rank_heads(model, tokenizer, TEXT, answers=["cow", "moo"], mode=mode)
    ids = encode_text(tokenizer, TEXT)
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    answers = [tokenizer.encode("cow")[0], tokenizer.encode("moo")[0]]

    def log_prob(head_mask) -> float:
        probs = mask_probabilities(model, ids, positions, head_mask)
        return sum(math.log(probs[row, a]) for row, a in enumerate(answers))

    intact = log_prob(None)
    assert ranking.intact == pytest.approx(intact, abs=1e-4) and ranking.metric == "log_prob"
    assert len(ranking.heads) == LAYERS * HEADS
    assert [e.drop for e in ranking.heads] == sorted((e.drop for e in ranking.heads), reverse=True)
    for effect in ranking.heads:
        direct = log_prob(head_mask_for(model, [(effect.layer, effect.head)], mode))
        assert effect.value == pytest.approx(direct, abs=1e-4)
        assert effect.drop == pytest.approx(intact - direct, abs=1e-4)


def test_rank_heads_without_answers_follows_the_intact_top_prediction(model, tokenizer) -> None:
    ids = encode_text(tokenizer, TEXT)
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    top = mask_probabilities(model, ids, positions).argmax(dim=-1).tolist()
    ranking = rank_heads(model, tokenizer, TEXT)
    assert ranking.answers == [tokenizer.id_to_token(i) for i in top]
    with pytest.raises(ProbeInputError, match="one answer per mask"):
        rank_heads(model, tokenizer, TEXT, answers=["a", "b", "c"])


def test_suite_ranking_equals_evaluate_suite_with_each_head_off(model, tokenizer) -> None:
    items = [ProbeItem("the dog says [MASK].", ("woof",), "animals"),
             ProbeItem("the cow says [MASK].", ("moo",), "animals"),
             ProbeItem("the [MASK] says moo.", ("cow",), "animals")]
    suite = ProbeSuite("mini", "0" * 64, items)
    ranking = rank_heads_on_suite(model, tokenizer, suite, mode="zero")
    intact = evaluate_suite(model, tokenizer, suite, top_k=1).metrics["overall"]["precision_at_1"]
    assert ranking.intact == intact and ranking.metric == "precision_at_1" and len(ranking.heads) == LAYERS * HEADS
    for effect in ranking.heads[:4]:
        ablated = evaluate_suite(model, tokenizer, suite, top_k=1,
                                 head_mask=head_mask_for(model, [(effect.layer, effect.head)])).metrics["overall"]
        assert effect.value == ablated["precision_at_1"] and effect.drop == intact - ablated["precision_at_1"]


def test_heads_are_parsed_and_checked(model) -> None:
    assert parse_heads("1.2, 0.0,1.2") == [(1, 2), (0, 0)] and parse_heads(" ") == []
    assert format_heads([(1, 2), (0, 0)]) == "1.2,0.0"
    for bad in ("3", "a.b", "1.-1", "1:2"):
        with pytest.raises(ProbeInputError, match="LAYER.HEAD"):
            parse_heads(bad)
    with pytest.raises(ProbeInputError, match="does not exist"):
        head_mask_for(model, [(LAYERS, 0)])
    with pytest.raises(ProbeInputError, match="ablation must be one of"):
        head_mask_for(model, [(0, 0)], "half")
    assert head_mask_for(model, [], "mean") is None
