"""Atomic checkpoints: round trip with tied weights, RNG states, no half-written folders, replacement."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from workbench.core.checkpoints import (
    CheckpointError,
    capture_rng_state,
    checkpoint_step,
    file_sha256,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_config,
    remove_partial_saves,
    restore_rng_state,
    save_checkpoint,
)
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.optim import build_optimizer
from workbench.settings.model import BertConfig

CONFIG = BertConfig(vocab_size=99, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                    intermediate_size=37, max_position_embeddings=9)


def _trained_model_and_optimizer():
    torch.manual_seed(0)
    model = BertForMaskedLM(CONFIG)
    optimizer = build_optimizer(model, lr=1e-2, weight_decay=0.01)
    model(torch.randint(5, 99, (13, 9)), labels=torch.randint(5, 99, (13, 9))).loss.backward()
    optimizer.step()
    return model, optimizer


def test_round_trip_keeps_weights_tie_and_state(tmp_path):
    model, optimizer = _trained_model_and_optimizer()
    state = {"step": 100, "epoch": 2, "cursor": 39, "optimizer": optimizer.state_dict(), "rng": capture_rng_state()}
    info = save_checkpoint(tmp_path, model, state, {"model": CONFIG.to_dict()})
    assert info.path == tmp_path / "checkpoints" / "step-0000100" and info.step == 100
    assert sorted(p.name for p in info.path.iterdir()) == ["config.json", "model.safetensors", "training_state.pt"]
    assert info.sha256 == file_sha256(info.path / "model.safetensors") and len(info.sha256) == 64
    assert info.size == sum(p.stat().st_size for p in info.path.iterdir())
    assert read_checkpoint_config(info.path) == {"model": CONFIG.to_dict()}

    fresh = BertForMaskedLM(CONFIG)
    loaded = load_checkpoint(info.path, fresh, map_location="cpu")
    for (name, a), (_, b) in zip(model.state_dict().items(), fresh.state_dict().items()):
        assert torch.equal(a, b), name
    assert fresh.cls.predictions.decoder.weight is fresh.bert.embeddings.word_embeddings.weight
    assert (loaded["step"], loaded["epoch"], loaded["cursor"]) == (100, 2, 39)
    fresh_optimizer = build_optimizer(fresh, lr=1e-2, weight_decay=0.01)
    fresh_optimizer.load_state_dict(loaded["optimizer"])
    exp_avg = optimizer.state_dict()["state"][0]["exp_avg"]
    assert torch.equal(fresh_optimizer.state_dict()["state"][0]["exp_avg"], exp_avg)


def test_identical_weights_give_identical_files(tmp_path):
    model, _ = _trained_model_and_optimizer()
    hashes = {save_checkpoint(tmp_path / str(i), model, {"step": 1}, {}).sha256 for i in range(4)}
    assert len(hashes) == 1


def test_rng_states_survive_a_save_and_load(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = {"step": 1, "rng": capture_rng_state()}
    expected = (random.random(), np.random.rand(), np.random.randn(), torch.rand(3))
    model = BertForMaskedLM(CONFIG)
    info = save_checkpoint(tmp_path, model, state, {})
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    restore_rng_state(load_checkpoint(info.path, BertForMaskedLM(CONFIG))["rng"])
    again = (random.random(), np.random.rand(), np.random.randn(), torch.rand(3))
    assert expected[:3] == again[:3] and torch.equal(expected[3], again[3])


def test_failure_mid_write_leaves_no_step_folder(tmp_path):
    model = BertForMaskedLM(CONFIG)
    save_checkpoint(tmp_path, model, {"step": 5}, {})
    # model.safetensors is written first; a training state torch cannot pickle then fails the save
    bad_state = {"step": 10, "hook": lambda: None}
    with pytest.raises(Exception):
        save_checkpoint(tmp_path, model, bad_state, {})
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-0000005"]
    with pytest.raises(TypeError):  # config.json is last: still nothing left behind
        save_checkpoint(tmp_path, model, {"step": 10}, {"not json": object()})
    assert [checkpoint_step(p) for p in list_checkpoints(tmp_path)] == [5]


def test_leftovers_of_killed_saves_are_removed_by_the_next_writer(tmp_path):
    """A kill during a save leaves its temporary folder; nothing removed them (26 folders, 112 MB in one run)."""
    model = BertForMaskedLM(CONFIG)
    save_checkpoint(tmp_path, model, {"step": 5}, {})
    parent = tmp_path / "checkpoints"
    for name in (".tmp-step-0000010-dead", ".old-step-0000005-dead"):
        (parent / name).mkdir()
        (parent / name / "model.safetensors").write_bytes(b"half written")
    assert remove_partial_saves(tmp_path) == 2 and remove_partial_saves(tmp_path / "nowhere") == 0
    assert sorted(p.name for p in parent.iterdir()) == ["step-0000005"]
    (parent / ".tmp-step-0000020-dead").mkdir()
    save_checkpoint(tmp_path, model, {"step": 20}, {})  # a save cleans up first, too
    assert sorted(p.name for p in parent.iterdir()) == ["step-0000005", "step-0000020"]


def test_same_step_is_replaced_and_listing_is_ordered(tmp_path):
    model = BertForMaskedLM(CONFIG)
    for step in (1200, 30, 400):
        save_checkpoint(tmp_path, model, {"step": step}, {"version": 1})
    (tmp_path / "checkpoints" / ".tmp-step-0000500-dead").mkdir()  # left by a crash: not a checkpoint
    with torch.no_grad():
        model.cls.predictions.bias.add_(1.0)
    info = save_checkpoint(tmp_path, model, {"step": 400}, {"version": 2})
    assert read_checkpoint_config(info.path) == {"version": 2}
    assert [checkpoint_step(p) for p in list_checkpoints(tmp_path)] == [30, 400, 1200]
    assert list_checkpoints(tmp_path / "nowhere") == []
    names = {p.name for p in (tmp_path / "checkpoints").iterdir()}
    assert not any(n.startswith(".old") for n in names)


class Payload:
    """Anything but tensors and plain data: what a tampered training state could hold."""


def test_a_state_that_is_not_plain_data_is_refused_without_the_unsafe_hint(tmp_path):
    model = BertForMaskedLM(CONFIG)
    info = save_checkpoint(tmp_path, model, {"step": 3}, {})
    torch.save({"step": 3, "payload": Payload()}, info.path / "training_state.pt")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(info.path, model)
    assert "holds more than tensors and plain data" in str(err.value) and "weights_only" not in str(err.value)


def test_loading_a_non_checkpoint_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a checkpoint"):
        load_checkpoint(tmp_path, BertForMaskedLM(CONFIG))
