"""Distillation jobs: a smaller student trained on a teacher run's soft predictions, recorded as a run of kind
`distill` whose parent is the teacher.

The student reads the teacher's text through the teacher's tokenizer (the soft targets are distributions over
the teacher's vocabulary), so by default it also takes the teacher's corpus, validation share and block length;
the rest is an ordinary pretraining run (`jobs.pretrain`), which also resumes it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Collection, Sequence

from workbench.core.distributed import Single
from workbench.core.model_config import count_parameters
from workbench.core.training_types import TrainControl, TrainResult
from workbench.jobs.checkpoint_check import verified_checkpoint
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import Listener, Progress, get_run, split_step, start_pretraining
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig
from workbench.settings.model import BertConfig
from workbench.settings.pretrain import PretrainSpec
from workbench.store.runstore import CheckpointRecord, RunRecord

TEACHER_KINDS = ("pretrain", "distill")  # runs trained here, whose tokenizer and corpus the workbench holds


def find_teacher(ws: Workspace, reference: str) -> tuple[RunRecord, CheckpointRecord]:
    """The teacher run and its checkpoint ("RUN" the latest, "RUN:STEP" that step's), its files checked."""
    name, step = split_step(ws, reference)
    run = get_run(ws, name)
    if run.kind not in TEACHER_KINDS:
        raise UserError(f"run {run.name!r} is a {run.kind} run; a teacher is a pretraining or distillation run "
                        "trained here (its tokenizer and corpus are the student's)")
    return run, verified_checkpoint(ws, run, step)


def student_spec(teacher: RunRecord, spec: PretrainSpec, chosen: Collection[str]) -> PretrainSpec:
    """`spec` with the teacher's tokenizer, and its corpus, validation share and block length unless `chosen`
    names them ("corpus", "val_fraction", "max_position_embeddings")."""
    data = teacher.config["data"]
    if spec.tokenizer_id not in (None, data["tokenizer_id"]):
        raise UserError(f"a student uses its teacher's tokenizer ({data['tokenizer_id']}), not {spec.tokenizer_id}: "
                        "it learns distributions over the teacher's vocabulary")
    model = spec.model
    if "max_position_embeddings" not in chosen:
        model = replace(model, max_position_embeddings=data["max_len"])
    values = {name: data[name] for name in ("corpus", "val_fraction") if name not in chosen}
    return replace(spec, tokenizer_id=data["tokenizer_id"], model=model, **values)


def teacher_entry(teacher: RunRecord, checkpoint: CheckpointRecord, settings: DistillConfig) -> dict:
    """What a distill run records of its teacher and settings (its config's `distill`, see `jobs.distill_run`)."""
    model = BertConfig.from_dict(teacher.config["model"])
    return {
        "settings": settings.to_dict(),
        "teacher": {"run_id": teacher.id, "name": teacher.name, "step": checkpoint.step,
                    "checkpoint": checkpoint.path, "sha256": checkpoint.sha256,
                    "parameters": count_parameters(model), "val_loss": (checkpoint.metrics or {}).get("val_loss")},
    }


def start_distillation(
    ws: Workspace,
    teacher_ref: str,
    spec: PretrainSpec,
    settings: DistillConfig,
    chosen: Collection[str] = (),
    listeners: Sequence[Listener] = (),
    control: TrainControl | None = None,
    progress: Progress | None = None,
    world: Single | None = None,
) -> tuple[RunRecord, TrainResult]:
    """Record a `distill` run of `spec` learning from `teacher_ref`, and train it; the teacher's tokenizer, and its
    data settings that `chosen` does not name (`student_spec`)."""
    teacher, checkpoint = find_teacher(ws, teacher_ref)
    spec = student_spec(teacher, spec, chosen)
    longest = BertConfig.from_dict(teacher.config["model"]).max_length
    if spec.model.max_position_embeddings > longest:
        raise UserError(f"the student's blocks of {spec.model.max_position_embeddings} tokens are longer than its "
                        f"teacher reads ({longest}); lower --max-len")
    return start_pretraining(ws, spec, listeners, control, progress, world,
                             distill=teacher_entry(teacher, checkpoint, settings))
