"""The distillation loss (soft KL at a temperature, mixed with the hard masked-LM loss) and the trainer's hook: a
student that learns from a frozen teacher's predictions at the masked positions."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from workbench.core.checkpoints import CheckpointError, file_sha256
from workbench.core.distillation import Distiller, distillation_loss, inference_speed, load_masked_lm, soft_loss
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.training import Trainer
from workbench.core.training_types import StepEvent
from workbench.settings.distill import DistillConfig
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig
from workbench.settings.train import TrainConfig

torch.manual_seed(0)
LOGITS = torch.randn(6, 11) * 3  # (N, V)
OTHER = torch.randn(6, 11) * 3


def test_the_soft_loss_is_zero_when_the_student_predicts_as_the_teacher():
    for temperature in (0.5, 1.0, 2.0, 7.0):
        assert soft_loss(LOGITS.clone(), LOGITS, temperature).item() == pytest.approx(0.0, abs=1e-6)
        assert soft_loss(OTHER, LOGITS, temperature).item() > 0.01
    # shifting every logit of a row by a constant changes no probability
    assert soft_loss(LOGITS + 5.0, LOGITS, 2.0).item() == pytest.approx(0.0, abs=1e-5)


def test_the_soft_loss_is_t_squared_times_the_mean_kl_of_the_softened_distributions():
    t = 2.0
    p = F.softmax(LOGITS / t, dim=-1)  # the teacher's
    q = F.softmax(OTHER / t, dim=-1)
    by_hand = (p * (p.log() - q.log())).sum(-1).mean() * t * t
    assert soft_loss(OTHER, LOGITS, t).item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_alpha_mixes_soft_and_hard():
    hard = torch.tensor(3.0)
    soft = soft_loss(OTHER, LOGITS, 2.0)
    mixed = distillation_loss(OTHER, LOGITS, hard, DistillConfig(temperature=2.0, alpha=0.25))
    assert mixed.item() == pytest.approx(0.25 * soft.item() + 0.75 * 3.0, rel=1e-6)
    assert distillation_loss(OTHER, LOGITS, hard, DistillConfig(alpha=0.0)).item() == pytest.approx(3.0)


def test_the_settings_refuse_what_makes_no_sense():
    with pytest.raises(ValueError, match=r"temperature must be a number in \(0, 100\]"):
        DistillConfig(temperature=0.0)
    with pytest.raises(ValueError, match="alpha must be a number"):
        DistillConfig(alpha=1.5)


# ---- a student learning from a teacher in the trainer ------------------------------------------------------

VOCAB, LENGTH = 40, 16
TEACHER = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=LENGTH, hidden_dropout_prob=0.0,
                     attention_probs_dropout_prob=0.0)
STUDENT = replace(TEACHER, hidden_size=16, num_hidden_layers=1, intermediate_size=32)
TRAIN = TrainConfig(steps=60, batch_size=16, lr=3e-3, warmup_steps=5, eval_every=0, checkpoint_every=0,
                    device="cpu", log_every=5)


class Blocks:
    """Blocks that repeat one of a few token patterns: something a model (and so a teacher) can learn quickly."""

    def __init__(self, n: int, seed: int) -> None:
        generator = torch.Generator().manual_seed(seed)
        patterns = torch.randint(5, VOCAB, (4, 4), generator=generator)
        choice = torch.randint(0, 4, (n,), generator=generator)
        self.input_ids = patterns[choice].repeat(1, LENGTH // 4)
        self.input_ids[:, 0] = 2  # [CLS]

    def __len__(self) -> int:
        return len(self.input_ids)

    def get_batch(self, indices):
        input_ids = self.input_ids[list(indices)]
        return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}


class Tokenizer:
    mask_id, special_ids, vocab_size = 4, [0, 1, 2, 3, 4], VOCAB

    def word_start_mask(self, input_ids):
        return torch.ones_like(input_ids, dtype=torch.bool)


@pytest.fixture(scope="module")
def teacher_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("teacher")
    trainer = Trainer(TEACHER, replace(TRAIN, steps=120), MaskingConfig(), Blocks(256, 0), None, Tokenizer(), run_dir)
    result = trainer.run()
    assert result.status == "completed"
    return result.last_checkpoint


def _student(run_dir, distiller, config=TRAIN):
    events = []
    trainer = Trainer(STUDENT, config, MaskingConfig(), Blocks(256, 0), Blocks(64, 0), Tokenizer(), run_dir,
                      listeners=[events.append], distiller=distiller)
    return trainer, events


def test_a_student_learns_from_its_teacher(teacher_checkpoint, tmp_path):
    distiller = Distiller.load(teacher_checkpoint, file_sha256(teacher_checkpoint / "model.safetensors"),
                               DistillConfig())
    assert not distiller.teacher.training and not any(p.requires_grad for p in distiller.teacher.parameters())
    before = [p.detach().clone() for p in distiller.teacher.parameters()]
    trainer, events = _student(tmp_path, distiller)
    result = trainer.run()
    losses = [e.loss for e in events if isinstance(e, StepEvent)]
    assert result.status == "completed" and losses[-1] < 0.75 * losses[0]
    assert all(torch.equal(a, b) for a, b in zip(before, distiller.teacher.parameters()))  # frozen
    # the held-out check is the student's own masked-LM loss, comparable with any pretraining run's
    assert result.val_loss is not None and math.isfinite(result.val_loss)
    student = load_masked_lm(result.last_checkpoint)
    assert student.config == STUDENT


def test_alpha_zero_trains_exactly_as_without_a_teacher(teacher_checkpoint, tmp_path):
    distiller = Distiller(load_masked_lm(teacher_checkpoint), DistillConfig(alpha=0.0))
    config = replace(TRAIN, steps=10)
    plain, plain_events = _student(tmp_path / "plain", None, config)
    taught, taught_events = _student(tmp_path / "taught", distiller, config)
    plain.run(), taught.run()
    losses = [[e.loss for e in events if isinstance(e, StepEvent)] for events in (plain_events, taught_events)]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


def test_a_changed_or_missing_teacher_is_refused(teacher_checkpoint, tmp_path):
    with pytest.raises(CheckpointError, match="changed since the student started"):
        Distiller.load(teacher_checkpoint, "0" * 64, DistillConfig())
    with pytest.raises(CheckpointError, match="is missing"):
        Distiller.load(tmp_path / "gone", "0" * 64, DistillConfig())


def test_inference_speed_counts_tokens_per_second():
    model = BertForMaskedLM(STUDENT)
    speed = inference_speed(model, torch.randint(5, VOCAB, (4, LENGTH)), repeats=2)
    assert speed > 0 and not model.training
