from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from workbench.core.model_config import count_parameters
from workbench.core.modeling_bert import BertForMaskedLM, MaskedLMOutput
from workbench.settings.model import BertConfig

V, T, B, H, A, L = 99, 7, 13, 32, 4, 2


def make_config(**changes) -> BertConfig:
    return BertConfig(**{**dict(vocab_size=V, hidden_size=H, num_hidden_layers=L, num_attention_heads=A,
                                intermediate_size=37, max_position_embeddings=16), **changes})


def make_batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, V, (B, T), generator=g)
    lengths = torch.randint(2, T + 1, (B,), generator=g)
    attention_mask = (torch.arange(T)[None, :] < lengths[:, None]).long()  # (B, T), right padding
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    selected = (torch.rand(B, T, generator=g) < 0.3) & (attention_mask == 1)
    labels = torch.where(selected, torch.randint(0, V, (B, T), generator=g), -100)
    return input_ids, attention_mask, labels


def expected_state_dict_keys(num_layers: int) -> list[str]:
    keys = ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight",
            "bert.embeddings.token_type_embeddings.weight", "bert.embeddings.LayerNorm.weight",
            "bert.embeddings.LayerNorm.bias"]
    for i in range(num_layers):
        p = f"bert.encoder.layer.{i}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value",
                     "attention.output.dense", "attention.output.LayerNorm", "intermediate.dense",
                     "output.dense", "output.LayerNorm"):
            keys += [p + name + ".weight", p + name + ".bias"]
    return keys + ["cls.predictions.bias", "cls.predictions.transform.dense.weight",
                   "cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
                   "cls.predictions.transform.LayerNorm.bias", "cls.predictions.decoder.weight",
                   "cls.predictions.decoder.bias"]


@pytest.fixture(scope="module")
def model() -> BertForMaskedLM:
    torch.manual_seed(0)
    return BertForMaskedLM(make_config()).eval()


def test_state_dict_names_and_shapes_equal_hf(model):
    state = model.state_dict()
    assert list(state) == expected_state_dict_keys(L)  # HF order too (BertForMaskedLM, transformers 4.x)
    assert state["bert.embeddings.word_embeddings.weight"].shape == (V, H)
    assert state["bert.embeddings.position_embeddings.weight"].shape == (16, H)
    assert state["bert.embeddings.token_type_embeddings.weight"].shape == (2, H)
    assert state["bert.encoder.layer.1.attention.self.key.weight"].shape == (H, H)
    assert state["bert.encoder.layer.0.intermediate.dense.weight"].shape == (37, H)
    assert state["bert.encoder.layer.0.output.dense.weight"].shape == (H, 37)
    assert state["cls.predictions.decoder.weight"].shape == (V, H)
    assert state["cls.predictions.bias"].shape == state["cls.predictions.decoder.bias"].shape == (V,)
    pre_ln = BertForMaskedLM(make_config(pre_layer_norm=True)).state_dict()
    assert sorted(pre_ln) == sorted(expected_state_dict_keys(L) + ["bert.encoder.final_layer_norm.weight",
                                                                   "bert.encoder.final_layer_norm.bias"])


def test_tied_weights_share_storage(model):
    head = model.cls.predictions
    assert head.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert head.decoder.bias is head.bias
    state = model.state_dict()
    words = state["bert.embeddings.word_embeddings.weight"]
    assert state["cls.predictions.decoder.weight"].data_ptr() == words.data_ptr()
    assert count_parameters(model.config) == sum(p.numel() for p in model.parameters())


def test_initialisation_follows_hf():
    torch.manual_seed(0)
    model = BertForMaskedLM(make_config(vocab_size=2000, pad_token_id=3, initializer_range=0.05))
    words = model.bert.embeddings.word_embeddings.weight
    assert torch.all(words[3] == 0) and abs(words.std().item() - 0.05) < 0.005
    layer = model.bert.encoder.layer[0]
    assert torch.all(layer.attention.self.query.bias == 0) and torch.all(model.cls.predictions.bias == 0)
    assert torch.all(layer.output.LayerNorm.weight == 1) and torch.all(layer.output.LayerNorm.bias == 0)
    assert abs(layer.intermediate.dense.weight.std().item() - 0.05) < 0.01


def test_shapes_with_and_without_labels(model):
    input_ids, attention_mask, labels = make_batch()
    out = model(input_ids, attention_mask, output_hidden_states=True, output_attentions=True)
    assert isinstance(out, MaskedLMOutput) and out.loss is None
    assert out.logits.shape == (B, T, V)
    assert len(out.hidden_states) == L + 1 and all(h.shape == (B, T, H) for h in out.hidden_states)
    assert len(out.attentions) == L and all(a.shape == (B, A, T, T) for a in out.attentions)
    out = model(input_ids, attention_mask, labels=labels)
    assert out.logits.shape == (int((labels != -100).sum()), V) and out.loss.shape == ()
    assert out.hidden_states is None and out.attentions is None


def test_selected_logits_and_loss_equal_full_forward(model):
    input_ids, attention_mask, labels = make_batch()
    token_type_ids = (torch.arange(T) >= 3).long().expand(B, T)
    full = model(input_ids, attention_mask, token_type_ids)
    sparse = model(input_ids, attention_mask, token_type_ids, labels=labels)
    selected = labels != -100
    torch.testing.assert_close(sparse.logits, full.logits[selected], atol=1e-5, rtol=1e-5)
    expected = F.cross_entropy(full.logits.reshape(-1, V), labels.reshape(-1), ignore_index=-100)
    torch.testing.assert_close(sparse.loss, expected, atol=1e-5, rtol=1e-5)


def test_no_selected_positions_gives_zero_loss_with_grad():
    model = BertForMaskedLM(make_config())
    input_ids, attention_mask, _ = make_batch()
    out = model(input_ids, attention_mask, labels=torch.full((B, T), -100))
    assert out.logits.shape == (0, V) and out.loss.item() == 0.0
    out.loss.backward()  # a batch with nothing masked must not break (or NaN) the training step
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_appended_padding_leaves_real_positions_unchanged(model):
    input_ids, attention_mask, _ = make_batch()
    out = model(input_ids, attention_mask)
    padded_ids = torch.cat([input_ids, torch.zeros(B, 5, dtype=torch.long)], dim=1)
    padded_mask = torch.cat([attention_mask, torch.zeros(B, 5, dtype=torch.long)], dim=1)
    for explicit in (False, True):
        padded = model(padded_ids, padded_mask, output_attentions=explicit)
        real = attention_mask.bool()
        torch.testing.assert_close(padded.logits[:, :T][real], out.logits[real], atol=1e-5, rtol=1e-5)


def test_an_all_padding_row_stays_finite(model):
    input_ids, attention_mask, _ = make_batch()
    attention_mask[0] = 0
    for explicit in (False, True):
        assert torch.isfinite(model(input_ids, attention_mask, output_attentions=explicit).logits).all()


def test_attention_rows_sum_to_one_and_ignore_padding(model):
    input_ids, attention_mask, _ = make_batch()
    out = model(input_ids, attention_mask, output_attentions=True)
    key_is_pad = (attention_mask == 0)[:, None, None, :].expand(B, A, T, T)
    for probs in out.attentions:
        torch.testing.assert_close(probs.sum(-1), torch.ones(B, A, T))
        assert torch.all(probs[key_is_pad] == 0)


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_sdpa_path_equals_explicit_path(pre_layer_norm):
    torch.manual_seed(1)
    model = BertForMaskedLM(make_config(pre_layer_norm=pre_layer_norm)).eval()
    input_ids, attention_mask, labels = make_batch(seed=2)
    fused = model(input_ids, attention_mask, labels=labels, output_hidden_states=True)
    explicit = model(input_ids, attention_mask, labels=labels, output_hidden_states=True, output_attentions=True)
    for a, b in zip(fused.hidden_states, explicit.hidden_states):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused.logits, explicit.logits, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fused.loss, explicit.loss, atol=1e-5, rtol=1e-5)


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    model = BertForMaskedLM(make_config(pre_layer_norm=True)).train()
    input_ids, attention_mask, labels = make_batch()
    model(input_ids, attention_mask, labels=labels).loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_last_layer_at_labelled_rows_gives_the_full_models_loss_and_gradients(pre_layer_norm):
    torch.manual_seed(0)
    model = BertForMaskedLM(make_config(pre_layer_norm=pre_layer_norm)).eval()  # no dropout: same numbers
    input_ids, attention_mask, labels = make_batch()
    selected = labels != -100

    def grads(loss: torch.Tensor) -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        loss.backward()
        return {name: p.grad.clone() for name, p in model.named_parameters()}

    engine = model(input_ids, attention_mask, labels=labels)
    full_logits = model.logits_at(model.bert(input_ids, attention_mask).last_hidden_state, selected)
    torch.testing.assert_close(engine.logits, full_logits, atol=1e-5, rtol=1e-5)
    expected_loss = F.cross_entropy(full_logits, labels[selected])
    torch.testing.assert_close(engine.loss, expected_loss, atol=1e-6, rtol=1e-5)
    partial, full = grads(engine.loss), grads(expected_loss)
    for name in full:
        torch.testing.assert_close(partial[name], full[name], atol=1e-6, rtol=1e-4, msg=name)
    with pytest.raises(ValueError, match="exclude each other"):
        model.bert(input_ids, attention_mask, output_hidden_states=True, rows=selected)


def test_a_one_segment_model_reads_a_pair_as_one_segment():
    """An imported RoBERTa has one segment type; a fine-tuning pair's second segment (id 1) crashed it."""
    model = BertForMaskedLM(make_config(type_vocab_size=1)).eval()
    input_ids = torch.randint(5, V, (2, 7))
    pair_types = torch.tensor([[0, 0, 0, 1, 1, 1, 1]] * 2)
    torch.testing.assert_close(model(input_ids, token_type_ids=pair_types).logits, model(input_ids).logits)


def test_for_training_makes_the_lookup_sparse_on_the_cpu_only():
    model = BertForMaskedLM(make_config())
    assert model.for_training(torch.device("cpu")) is model and model.bert.embeddings.word_embeddings.sparse
    model.for_training(torch.device("meta"))  # any other device: the dense lookup (faster on a GPU)
    assert not model.bert.embeddings.word_embeddings.sparse and model.cls.predictions.decoder.weight.is_meta


def test_tied_matrix_gradient_is_dense_and_equals_a_dense_lookup():
    torch.manual_seed(0)
    model = BertForMaskedLM(make_config()).train()
    input_ids, attention_mask, labels = make_batch()
    grads = {}
    for sparse in (True, False):  # the engine's sparse lookup on the CPU, then the dense one (GPUs, nn.Embedding)
        model.bert.embeddings.word_embeddings.sparse = sparse
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # same dropout masks
        model(input_ids, attention_mask, labels=labels).loss.backward()
        grads[sparse] = model.bert.embeddings.word_embeddings.weight.grad
    assert grads[True].layout == torch.strided  # what fused AdamW and gradient clipping need
    assert grads[True][input_ids.unique()].abs().sum() > 0
    torch.testing.assert_close(grads[True], grads[False], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("pre_layer_norm", [False, True])
def test_learns_a_toy_repeat_task(pre_layer_norm):
    """Every row is the same sentence with fresh random masks: the loss must fall fast."""
    torch.manual_seed(0)
    model = BertForMaskedLM(make_config(pre_layer_norm=pre_layer_norm)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    words = torch.tensor([7, 31, 64, 12, 98, 45, 20]).expand(16, T)
    losses = []
    for step in range(30):
        masked = torch.rand(16, T, generator=torch.Generator().manual_seed(step)) < 0.3
        out = model(words.masked_fill(masked, 4), labels=torch.where(masked, words, -100))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        losses.append(out.loss.item())
    assert sum(losses[-5:]) < 0.2 * sum(losses[:5]), losses


def test_rejects_too_long_sequences_and_bad_config(model):
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model(torch.ones(2, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="num_attention_heads"):
        BertForMaskedLM(make_config(num_attention_heads=5))


@pytest.mark.parametrize("act", ["gelu", "gelu_new", "relu"])
def test_every_allowed_activation_builds_and_runs(act):
    model = BertForMaskedLM(make_config(hidden_act=act)).eval()
    input_ids, attention_mask, _ = make_batch()
    assert torch.isfinite(model(input_ids, attention_mask).logits).all()


def test_logits_equal_huggingface_on_the_same_weights(model):
    transformers = pytest.importorskip("transformers")  # a benchmark-only dependency; skipped without it
    hf = transformers.BertForMaskedLM(transformers.BertConfig(**make_config().to_dict())).eval()
    missing, unexpected = hf.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all("position_ids" in k for k in missing)
    input_ids, padded_mask, labels = make_batch(3)
    for attention_mask in (padded_mask, torch.ones_like(padded_mask)):  # padded, and packed (no mask built)
        with torch.no_grad():
            ours = model(input_ids, attention_mask).logits  # (B, T, V)
            theirs = hf(input_ids=input_ids, attention_mask=attention_mask).logits
            ours_loss = model(input_ids, attention_mask, labels=labels).loss
            hf_loss = hf(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
        real = attention_mask.bool()  # padded positions attend to nothing useful on either side
        torch.testing.assert_close(ours[real], theirs[real], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(ours_loss, hf_loss, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("p", [0.1, 0.37])
def test_dropout_rate_scale_and_seeding(p):
    from workbench.core.modeling_bert import Dropout
    dropout = Dropout(p).train()
    x = torch.ones(2, 1001, 13)  # an odd element count: not a multiple of the four draws per word
    torch.manual_seed(5)
    y = dropout(x)
    torch.manual_seed(5)
    assert torch.equal(y, dropout(x))  # a function of torch's seed, so resumed runs repeat it
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - p) < 0.01
    assert torch.allclose(y[kept], torch.full_like(y[kept], 65536 / (65536 - round(p * 65536))))
    assert torch.equal(dropout.eval()(x), x)


def test_dropout_gradient_uses_the_same_mask():
    from workbench.core.modeling_bert import Dropout
    x = torch.randn(7, 99, requires_grad=True)
    y = Dropout(0.5).train()(x)
    y.sum().backward()
    assert torch.equal(x.grad != 0, y != 0)


def test_training_mode_attention_with_dropout_zero_equals_eval_path():
    torch.manual_seed(1)
    model = BertForMaskedLM(make_config(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0))
    input_ids, attention_mask, labels = make_batch(4)
    train_loss = model.train()(input_ids, attention_mask, labels=labels).loss
    eval_loss = model.eval()(input_ids, attention_mask, labels=labels).loss
    torch.testing.assert_close(train_loss, eval_loss)
