"""What a recorded distillation run needs while it trains or resumes: its teacher, loaded from the run's
`distill` entry, and after training the student's and the teacher's speed, measured side by side.

A distill run's config holds `distill` = {"settings": DistillConfig's values, "teacher": {run_id, name, step,
checkpoint, sha256, parameters, val_loss}, "speed": {...} once measured}; `jobs.distill` writes the first two.
"""

from __future__ import annotations

from pathlib import Path

import torch

from workbench.core.distillation import Distiller, inference_speed, load_masked_lm
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.training_types import TrainResult
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig

SPEED_BATCH = 32  # blocks per timed forward pass, the same for student and teacher


def load_distiller(entry: dict | None) -> Distiller | None:
    """The teacher a run's `distill` entry names, checked against its recorded checksum; None for a pretraining
    run. Raises `CheckpointError` when the teacher's checkpoint is gone or changed."""
    if entry is None:
        return None
    teacher = entry["teacher"]
    return Distiller.load(Path(teacher["checkpoint"]), teacher["sha256"], DistillConfig.from_dict(entry["settings"]))


def record_speeds(ws: Workspace, run_id: int, teacher: BertForMaskedLM, result: TrainResult) -> None:
    """The student's (from its last checkpoint) and the teacher's tokens/s reading the same random blocks on the
    teacher's device, recorded under the run's distill entry: what the smaller model buys at inference."""
    if result.last_checkpoint is None:
        return
    device = next(teacher.parameters()).device
    student = load_masked_lm(Path(result.last_checkpoint), device)
    length = min(student.config.max_length, teacher.config.max_length)
    generator = torch.Generator().manual_seed(0)
    input_ids = torch.randint(5, student.config.vocab_size, (SPEED_BATCH, length), generator=generator)
    speed = {"student_tokens_per_second": inference_speed(student, input_ids),
             "teacher_tokens_per_second": inference_speed(teacher, input_ids),
             "batch": [SPEED_BATCH, length], "device": str(device)}
    run = ws.store.get_run(run_id)
    ws.store.update_run(run_id, config={**run.config, "distill": {**run.config["distill"], "speed": speed}})
