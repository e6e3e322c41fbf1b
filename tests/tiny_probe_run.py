"""A real tiny pretraining run for the probing tests: the bundled sample corpus, a WordPiece vocabulary of 300,
the seed-demo model at max_len 32, 20 steps with checkpoints at steps 10 and 20 (a few seconds on one thread)."""

from __future__ import annotations

from pathlib import Path

import torch

from workbench.jobs.corpora import get_corpus
from workbench.jobs.pretrain import start_pretraining
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig


def make_tiny_run(home: Path, name: str) -> Path:
    """Train the run into `home` and return `home`; one torch thread, restored after (the tests share cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Workspace.open(str(home)) as ws:
            train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=300))
            train = TrainConfig(steps=20, batch_size=8, eval_every=10, checkpoint_every=10, device="cpu")
            _, result = start_pretraining(ws, PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=train, name=name))
    finally:
        torch.set_num_threads(threads)
    assert result.status == "completed", result.message
    return home
