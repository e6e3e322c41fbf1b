"""A real tiny teacher and its distilled student for the tests of the student-beside-teacher scores: the tiny
probe run (`tests.tiny_probe_run`) as teacher `teacher`, and a one-layer student `student` distilled from it for
10 steps on the bundled sample corpus (seconds on one thread)."""

from __future__ import annotations

from pathlib import Path

import torch

from tiny_probe_run import make_tiny_run
from workbench.jobs.distill import start_distillation
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.train import TrainConfig

STUDENT = PretrainSpec(model=ModelSpec(preset="seed-demo", num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                                       intermediate_size=64),
                       train=TrainConfig(steps=10, batch_size=8, eval_every=5, checkpoint_every=5, device="cpu"),
                       name="student")


def make_distill_home(home: Path) -> Path:
    """`home` with the teacher and the student; one torch thread while training, restored after."""
    make_tiny_run(home, "teacher")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with Workspace.open(str(home)) as ws:
            _, result = start_distillation(ws, "teacher", STUDENT, DistillConfig())
    finally:
        torch.set_num_threads(threads)
    assert result.status == "completed", result.message
    return home
