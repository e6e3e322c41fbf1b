"""One rank of the engine's data-parallel pretraining (core.training.Trainer in a DataParallel world) on random
blocks, for tests/core/test_distributed_training.py (tiny, CPU, gloo) and gpu_check's trainer_ddp section
(small, CUDA, NCCL):

    python -m torch.distributed.run --standalone --nproc-per-node N bench/ddp_rank.py OUT STEPS
        [--device cpu] [--size tiny] [--precision fp32] [--resume CHECKPOINT] [--shard] [--objective mlm]

Rank 0 writes OUT/result.json (status, step losses, tokens/s in all and per rank, the share of the weights it
holds) and its checkpoints under
OUT/run. Importable, so a one-process reference trains on exactly the same data and settings. Imports only
workbench.core and torch (the GPU machine has no store or GUI dependencies)."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
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
# size: (model, blocks, block length, global batch); "small" is the workbench preset's shape, for a GPU
SIZES = {
    "tiny": (MODEL, 64, SEQ_LEN, 8),
    "small": (replace(MODEL, vocab_size=8000, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                      intermediate_size=1024, max_position_embeddings=128), 4096, 128, 64),
}


def train_config(steps: int, size: str = "tiny", device: str = "cpu", precision: str = "fp32",
                 objective: str = "mlm") -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=SIZES[size][3], grad_accum=2, lr=3e-3, warmup_steps=2, eval_every=0,
                       checkpoint_every=6 if size == "tiny" else 0, device=device, precision=precision,
                       log_every=1 if size == "tiny" else 10,  # a log reads the losses: a GPU sync
                       seed=5, objective=objective)


class RandomBlocks:
    """Seeded random token blocks, some padded at the end so the ranks' masked-token counts differ."""

    def __init__(self, n: int = 64, seq_len: int = SEQ_LEN, vocab: int = VOCAB) -> None:
        generator = torch.Generator().manual_seed(11)
        self.input_ids = torch.randint(len(SPECIALS), vocab, (n, seq_len), generator=generator)
        self.input_ids[:, 0] = 1
        lengths = torch.randint(seq_len // 2, seq_len + 1, (n,), generator=generator)
        self.input_ids[torch.arange(seq_len) >= lengths[:, None]] = 0

    def __len__(self) -> int:
        return len(self.input_ids)

    def get_batch(self, indices):
        input_ids = self.input_ids[list(indices)]  # (B, T)
        return {"input_ids": input_ids, "attention_mask": (input_ids != 0).long()}


class PlainTokenizer:
    mask_id, special_ids = 3, SPECIALS

    def __init__(self, vocab_size: int = VOCAB) -> None:
        self.vocab_size = vocab_size

    def word_start_mask(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(input_ids, dtype=torch.bool)


def make_trainer(run_dir: Path, steps: int, world=None, size: str = "tiny", device: str = "cpu",
                 precision: str = "fp32", objective: str = "mlm") -> tuple[Trainer, dict[int, float]]:
    """The trainer, and the dict its step losses will fill."""
    torch.set_num_threads(1)
    model, n_blocks, seq_len, _ = SIZES[size]
    losses: dict[int, float] = {}

    def record(event: object) -> None:
        if isinstance(event, StepEvent):
            losses[event.step] = event.loss

    trainer = Trainer(model, train_config(steps, size, device, precision, objective), MASKING,
                      RandomBlocks(n_blocks, seq_len, model.vocab_size), None, PlainTokenizer(model.vocab_size),
                      run_dir, listeners=[record], world=world)
    return trainer, losses


def train(run_dir: Path, steps: int, resume_from: Path | None, world=None, size: str = "tiny", device: str = "cpu",
          precision: str = "fp32", objective: str = "mlm") -> tuple[TrainResult, dict[int, float]]:
    trainer, losses = make_trainer(run_dir, steps, world, size, device, precision, objective)
    return trainer.run(resume_from=resume_from), losses


def held_share(model: torch.nn.Module) -> float:
    """The share of the model's weights this process holds (1.0 unless sharded)."""
    local = [p.to_local() if hasattr(p, "to_local") else p for p in model.parameters()]
    return sum(p.numel() for p in local) / sum(p.numel() for p in model.parameters())


def main() -> int:
    from workbench.core.distributed import join_world, leave_world

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("steps", type=int)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", choices=SIZES, default="tiny")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--resume", type=Path)
    parser.add_argument("--shard", action="store_true", help="the model sharded over the ranks (FSDP2)")
    parser.add_argument("--objective", default="mlm", choices=("mlm", "clm", "electra"))
    args = parser.parse_args()
    world = join_world(args.device, timeout_s=60, shard=args.shard)
    try:
        trainer, losses = make_trainer(args.out / "run", args.steps, world, args.size, args.device, args.precision,
                                       args.objective)
        result = trainer.run(resume_from=args.resume)
    finally:
        leave_world()
    if world.rank == 0:
        (args.out / "result.json").write_text(json.dumps({
            "status": result.status, "message": result.message, "losses": losses, "world_size": result.world_size,
            "backend": result.backend, "tokens_per_second": result.tokens_per_second,
            "rank_tokens_per_second": result.rank_tokens_per_second, "held_share": held_share(trainer.model)}))
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
