"""Causal LM and ELECTRA on the trainer's toy corpus: the causal mask hides the future, the losses fall, the
discriminator's labels are exactly the replaced tokens, checkpoints hold what each objective needs, and a run
stopped and resumed equals the uninterrupted one."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from test_training import FAST, MODEL, _events, _trainer, corpus, one_thread, stop_and_resume  # noqa: F401

from workbench.core.checkpoints import file_sha256, load_checkpoint, read_checkpoint_config
from workbench.core.finetune.heads import from_pretraining
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.objectives import (
    ELECTRA_FILE,
    ElectraPretraining,
    generator_config,
    load_generator,
    next_token_batch,
    replaced_token_batch,
    sample_by_draws,
    sampling_draws,
)
from workbench.core.probing.fill_mask import fill_mask
from workbench.core.training_types import EvalEvent, StepEvent
from workbench.settings.train import TrainConfig

CLM = replace(FAST, objective="clm")
ELECTRA = replace(FAST, objective="electra", generator_hidden_size=0.5, disc_weight=50.0)


def test_a_causal_model_never_reads_later_tokens():
    torch.manual_seed(0)
    model = BertForMaskedLM(replace(MODEL, is_decoder=True)).eval()
    ids = torch.randint(5, MODEL.vocab_size, (2, 12))
    changed = ids.clone()
    changed[:, 7] = (ids[:, 7] + 1 - 5) % (MODEL.vocab_size - 5) + 5  # a different token at position 7
    mask = torch.ones_like(ids)
    mask[1, 10:] = 0  # padding too: the two masks combine
    with torch.no_grad():
        before, after = model(ids, mask).logits, model(changed, mask).logits  # (B, T, V)
    assert torch.equal(before[:, :7], after[:, :7])  # positions 0..6 cannot see position 7
    assert not torch.allclose(before[:, 7:10], after[:, 7:10])
    bidirectional = BertForMaskedLM(MODEL).eval()
    bidirectional.load_state_dict(model.state_dict())
    with torch.no_grad():  # the same weights without the causal mask do see it
        assert not torch.allclose(bidirectional(ids, mask).logits[:, :7], bidirectional(changed, mask).logits[:, :7])


def test_next_token_labels_are_the_shifted_word_pieces():
    ids = torch.tensor([[2, 10, 11, 3, 12], [2, 20, 21, 0, 0]])  # 2 [CLS], 3 [SEP], 0 padding
    batch = next_token_batch(ids, (ids != 0).long(), special_ids=[0, 1, 2, 3, 4])
    assert batch.labels.tolist() == [[10, 11, -100, 12, -100], [20, 21, -100, -100, -100]]
    assert torch.equal(batch.input_ids, ids)


def test_discriminator_labels_are_exactly_the_replaced_positions():
    ids = torch.tensor([[2, 4, 9, 4, 7, 3]])  # 4 is [MASK] here
    labels = torch.tensor([[-100, 5, -100, 8, 6, -100]])  # three masked positions; originals 5, 8, 6
    sampled = torch.tensor([5, 11, 12])  # the generator got the first right, replaced the other two
    corrupted, replaced = replaced_token_batch(ids, labels, sampled)
    assert corrupted.tolist() == [[2, 5, 9, 11, 12, 3]]
    assert replaced.tolist() == [[0, 0, 0, 1, 1, 0]]


def test_electra_forward_labels_what_its_generator_changed():
    torch.manual_seed(0)
    pair = ElectraPretraining(MODEL, 0.5, 50.0)
    ids = torch.randint(5, MODEL.vocab_size, (4, 12))
    labels = torch.full_like(ids, -100)
    labels[:, 3:6] = ids[:, 3:6]
    masked_ids = ids.masked_fill(labels != -100, 4)
    out = pair(masked_ids, labels)
    assert out.logits.shape == (12, MODEL.vocab_size) and out.replaced[labels == -100].sum() == 0
    assert 0 < int(out.replaced.sum()) <= 12  # an untrained generator replaces most masked tokens
    assert torch.allclose(out.loss, out.generator_loss + 50.0 * out.discriminator_loss)
    # the embeddings are shared and the generator's output layer is the word embedding matrix
    assert generator_config(MODEL, 0.5).hidden_size == MODEL.hidden_size // 2
    names = {name for name, _ in pair.named_parameters()}
    assert not any(name.startswith("electra.") and "embeddings.word" in name for name in names)


@pytest.mark.parametrize("config", [CLM, ELECTRA], ids=["clm", "electra"])
def test_the_loss_falls_on_the_toy_corpus(corpus, tmp_path, config):
    events = []
    config = replace(config, steps=60, batch_size=32, lr=1e-2, warmup_steps=5, eval_every=0, checkpoint_every=0)
    result = _trainer(corpus, tmp_path, config, listeners=[events.append]).run()
    losses = [e.loss for e in _events(StepEvent, events)]
    assert result.status == "completed", result.message
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert result.val_loss < result.unigram_baseline_loss  # per predicted token, below guessing by frequency


def test_clm_records_next_token_accuracy_and_a_causal_checkpoint(corpus, tmp_path):
    events = []
    result = _trainer(corpus, tmp_path, replace(CLM, steps=10), listeners=[events.append]).run()
    evaluation = _events(EvalEvent, events)[-1]
    assert 0 <= evaluation.val_accuracy <= 1 and evaluation.extra == {}
    saved = read_checkpoint_config(result.last_checkpoint)
    assert saved["model"]["is_decoder"] is True and saved["train"]["objective"] == "clm"
    # fine-tuning reads both ways: a causal [CLS] at position 0 would see only itself
    assert from_pretraining("classify", result.last_checkpoint, 2).config.is_decoder is False


def test_electra_saves_the_discriminator_as_the_model_and_the_generator_beside_it(corpus, tmp_path):
    tokenizer = corpus[0]
    events = []
    result = _trainer(corpus, tmp_path, replace(ELECTRA, steps=10), listeners=[events.append]).run()
    evaluation = _events(EvalEvent, events)[-1]
    assert set(evaluation.extra) == {"disc_loss", "disc_accuracy", "disc_majority_accuracy"}
    assert 0 <= evaluation.extra["disc_accuracy"] <= 1 and 0.5 < evaluation.extra["disc_majority_accuracy"] < 1
    assert evaluation.val_loss > 0  # the generator's masked-LM loss, comparable with an MLM run's
    discriminator = BertForMaskedLM(MODEL)  # loads strictly, as fine-tuning and probing load a run's model
    load_checkpoint(result.last_checkpoint, discriminator)
    assert (result.last_checkpoint / ELECTRA_FILE).is_file()
    generator = load_generator(result.last_checkpoint, discriminator, ELECTRA.generator_hidden_size,
                               torch.device("cpu"))
    filled = fill_mask(generator, tokenizer, f"red green {tokenizer.mask_token} yellow", top_k=3)
    assert len(filled.masks[0].predictions) == 3


@pytest.mark.parametrize("config", [CLM, ELECTRA], ids=["clm", "electra"])
def test_stop_and_resume_reproduces_the_uninterrupted_run(corpus, tmp_path, config):
    config = replace(config, steps=24, checkpoint_every=0, eval_every=8)
    whole, full, split, resumed = stop_and_resume(corpus, tmp_path, config, at=12)
    assert _events(EvalEvent, split)[-1] == _events(EvalEvent, whole)[-1]
    for name in ("model.safetensors", *([ELECTRA_FILE] if config.objective == "electra" else [])):
        assert file_sha256(resumed.last_checkpoint / name) == file_sha256(full.last_checkpoint / name)


def test_objective_settings_are_checked():
    with pytest.raises(ValueError, match="objective"):
        TrainConfig(objective="gpt")
    with pytest.raises(ValueError, match="generator_hidden_size"):
        TrainConfig(generator_hidden_size=0.0)


def test_the_generator_samples_from_per_block_draws_whatever_the_batching() -> None:
    logits = torch.log(torch.tensor([[0.25, 0.75, 0.0], [0.5, 0.0, 0.5]]))
    assert sample_by_draws(logits, torch.tensor([0.1, 0.9], dtype=torch.float64)).tolist() == [0, 2]
    assert sample_by_draws(logits, torch.tensor([0.3, 0.4], dtype=torch.float64)).tolist() == [1, 0]
    both = sampling_draws(7, torch.tensor([3, 5]), epoch=2, length=6)
    assert torch.equal(sampling_draws(7, torch.tensor([5]), epoch=2, length=6)[0], both[1])  # batched or not
    assert not torch.equal(sampling_draws(7, torch.tensor([3]), epoch=3, length=6)[0], both[0])  # a new epoch
    assert ((both >= 0) & (both < 1)).all()
