"""AdamW parameter groups (no decay on biases and LayerNorm) and the warmup + decay schedules."""

from __future__ import annotations

import math

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.optim import build_optimizer, build_scheduler, lr_multiplier, no_decay_parameter_names
from workbench.settings.model import BertConfig


def _model() -> BertForMaskedLM:
    return BertForMaskedLM(BertConfig(vocab_size=99, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                                      intermediate_size=37, max_position_embeddings=9))


def test_groups_split_by_name():
    model = _model()
    optimizer = build_optimizer(model, lr=1e-3, weight_decay=0.01)
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    not_decayed = {names[id(p)] for p in no_decay["params"]}
    assert "bert.embeddings.word_embeddings.weight" in decayed  # BERT decays embeddings
    assert "bert.encoder.layer.0.attention.self.query.weight" in decayed
    assert "bert.encoder.layer.1.attention.output.LayerNorm.weight" in not_decayed
    assert "bert.embeddings.LayerNorm.weight" in not_decayed
    assert "cls.predictions.bias" in not_decayed
    assert "bert.encoder.layer.0.intermediate.dense.bias" in not_decayed
    assert all(n.endswith("bias") or "LayerNorm" in n for n in not_decayed)
    assert not any(n.endswith("bias") or "LayerNorm" in n for n in decayed)
    # every parameter exactly once; the tied decoder weight is the word embedding, counted once
    assert len(decayed) + len(not_decayed) == len(list(model.parameters()))
    assert not_decayed == no_decay_parameter_names(model) & set(names.values())


def test_optimizer_settings_and_step():
    model = _model()
    optimizer = build_optimizer(model, lr=2e-3, weight_decay=0.1, betas=(0.8, 0.95), eps=1e-8)
    assert optimizer.defaults["betas"] == (0.8, 0.95) and optimizer.defaults["eps"] == 1e-8
    before = model.bert.embeddings.word_embeddings.weight.detach().clone()
    out = model(torch.randint(5, 99, (3, 7)), labels=torch.randint(5, 99, (3, 7)))
    out.loss.backward()
    optimizer.step()
    assert not torch.equal(before, model.bert.embeddings.word_embeddings.weight)


def _lrs(schedule: str, warmup: int, total: int) -> list[float]:
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = build_scheduler(optimizer, warmup, total, schedule)
    lrs = []
    for _ in range(total + 2):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return lrs


def test_linear_warmup_then_linear_decay():
    lrs = _lrs("linear", warmup=10, total=110)
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.5) and lrs[110] == pytest.approx(0.0) and lrs[111] == 0.0
    assert all(a <= b for a, b in zip(lrs[:10], lrs[1:11]))


def test_cosine_decay():
    lrs = _lrs("cosine", warmup=4, total=24)
    assert lrs[2] == pytest.approx(0.5) and lrs[4] == pytest.approx(1.0)
    assert lrs[14] == pytest.approx(0.5) and lrs[9] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lrs[24] == pytest.approx(0.0, abs=1e-12)


def test_constant_after_warmup_and_no_warmup():
    assert _lrs("constant", warmup=3, total=10)[3:] == [1.0] * 9
    assert lr_multiplier(0, 0, 10, "linear") == 1.0
    assert lr_multiplier(5, 0, 10, "linear") == pytest.approx(0.5)


def test_unknown_schedule():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match="linear, cosine, constant, wsd, one-cycle"):
        build_scheduler(optimizer, 0, 10, "step")


def test_a_time_budget_schedule_decays_with_the_share_of_time_spent():
    model = torch.nn.Linear(2, 2)
    optimizer = build_optimizer(model, lr=1.0, weight_decay=0.0)
    spent = [0.0]
    scheduler = build_scheduler(optimizer, 2, 10, "linear", time_fraction=lambda: spent[0])
    rates = [optimizer.param_groups[0]["lr"]]
    for fraction in (0.1, 0.25, 0.5, 1.0, 1.5):  # the share spent when each next rate is set
        optimizer.step()
        spent[0] = fraction
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    # steps 0 and 1 warm up (0, 0.5), whatever the clock; then 1 - the share spent, never below 0
    assert rates == pytest.approx([0.0, 0.5, 0.75, 0.5, 0.0, 0.0])


def test_wsd_warms_up_holds_the_peak_then_decays_over_the_last_fraction():
    # 10 warm-up steps, then 100 more: the peak holds for 75 of them, the last 25 (0.25) fall linearly to 0
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = build_scheduler(optimizer, 10, 110, "wsd", decay_fraction=0.25)
    lrs = []
    for _ in range(112):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5)
    assert lrs[10:86] == [1.0] * 76
    assert lrs[95] == pytest.approx(0.6) and lrs[105] == pytest.approx(0.2) and lrs[110] == pytest.approx(0.0)
    assert lr_multiplier(50, 0, 100, "wsd") == 1.0 and lr_multiplier(90, 0, 100, "wsd") == pytest.approx(0.5)


def test_one_cycle_is_cramming_triangle_and_ignores_warmup():
    lrs = _lrs("one-cycle", warmup=7, total=20)
    assert lrs[0] == 0.0 and lrs[5] == pytest.approx(0.5) and lrs[10] == pytest.approx(1.0)
    assert lrs[15] == pytest.approx(0.5) and lrs[20] == pytest.approx(0.0) and lrs[21] == 0.0
    assert lrs[:20] == _lrs("one-cycle", warmup=0, total=20)[:20]  # the rise is the warm-up


@pytest.mark.parametrize("schedule, expected", [
    # the share spent when each rate is set: 0, 0.1, 0.25, 0.5, 0.9, 1.0; warm-up (2 steps) counts steps
    ("one-cycle", [0.0, 0.2, 0.5, 1.0, 0.2, 0.0]),  # the triangle follows the clock from the start
    ("wsd", [0.0, 0.5, 1.0, 1.0, 0.5, 0.0]),  # holds until 80% of the budget, then falls to 0 at its end
])
def test_new_schedules_follow_a_time_budget(schedule, expected):
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    spent = [0.0]
    scheduler = build_scheduler(optimizer, 2, 1000, schedule, time_fraction=lambda: spent[0])
    rates = [optimizer.param_groups[0]["lr"]]
    for fraction in (0.1, 0.25, 0.5, 0.9, 1.0):
        optimizer.step()
        spent[0] = fraction
        scheduler.step()
        rates.append(optimizer.param_groups[0]["lr"])
    assert rates == pytest.approx(expected)


def test_decay_fraction_must_be_a_share():
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])
    with pytest.raises(ValueError, match="decay_fraction"):
        build_scheduler(optimizer, 0, 10, "wsd", decay_fraction=0.0)
