"""One rank of a data-parallel pretraining run on a tiny model and random blocks, for test_distributed_training:
`python -m torch.distributed.run --standalone --nproc-per-node N ddp_worker.py OUT STEPS [RESUME_FROM]`.
Rank 0 writes the run's step losses to OUT/losses.json and its checkpoints under OUT/run; also importable, so
the one-process reference trains on exactly the same data and settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from workbench.core.training import Trainer
from workbench.core.training_types import StepEvent, TrainResult
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig
from workbench.settings.train import TrainConfig

VOCAB, SEQ_LEN, SPECIALS = 99, 13, [0, 1, 2, 3]  # pad, cls, sep, mask
MODEL = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                   max_position_embeddings=16, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
MASKING = MaskingConfig(mlm_probability=0.25)


def train_config(steps: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=8, grad_accum=2, lr=3e-3, warmup_steps=2, eval_every=0,
                       checkpoint_every=6, device="cpu", log_every=1, seed=5)


class RandomBlocks:
    """Seeded random token blocks, some padded at the end so the ranks' masked-token counts differ."""

    def __init__(self, n: int = 64) -> None:
        generator = torch.Generator().manual_seed(11)
        self.input_ids = torch.randint(len(SPECIALS), VOCAB, (n, SEQ_LEN), generator=generator)
        self.input_ids[:, 0] = 1
        lengths = torch.randint(SEQ_LEN // 2, SEQ_LEN + 1, (n,), generator=generator)
        self.input_ids[torch.arange(SEQ_LEN) >= lengths[:, None]] = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    def get_batch(self, indices):
        input_ids = self.input_ids[list(indices)]  # (B, T)
        return {"input_ids": input_ids, "attention_mask": (input_ids != 0).long()}


class PlainTokenizer:
    mask_id, special_ids, vocab_size = 3, SPECIALS, VOCAB

    def word_start_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(input_ids, dtype=torch.bool)


def train(run_dir: Path, steps: int, resume_from: Path | None, world=None) -> tuple[TrainResult, dict[int, float]]:
    torch.set_num_threads(1)
    losses: dict[int, float] = {}

    def record(event: object) -> None:
        if isinstance(event, StepEvent):
            losses[event.step] = event.loss

    trainer = Trainer(MODEL, train_config(steps), MASKING, RandomBlocks(), None, PlainTokenizer(), run_dir,
                      listeners=[record], world=world)
    return trainer.run(resume_from=resume_from), losses


def main(out: Path, steps: int, resume_from: Path | None) -> int:
    from workbench.core.distributed import join_world, leave_world

    world = join_world("cpu", timeout_s=60)
    try:
        result, losses = train(out / "run", steps, resume_from, world)
    finally:
        leave_world()
    if world.rank == 0:
        (out / "losses.json").write_text(json.dumps({"status": result.status, "losses": losses}))
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None))
