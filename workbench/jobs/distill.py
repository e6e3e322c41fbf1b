"""Distillation jobs: a smaller student trained on a teacher run's soft predictions, recorded as a run of kind
`distill` whose parent is the teacher.

The student reads the teacher's text through the teacher's tokenizer (the soft targets are distributions over
the teacher's vocabulary), so by default it also takes the teacher's corpus, validation share and block length;
the rest is an ordinary pretraining run (`jobs.pretrain`), which also resumes it. An imported Hugging Face model
teaches too: it has no corpus, so the student's own data settings apply, and its tokenizer is copied into the
home's tokenizers folder (content-addressed, no store record: it was trained on no corpus of this home), where
the student's run finds it (`data.tokenizer_path`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Collection, Sequence

from workbench.core.checkpoints import read_checkpoint_config
from workbench.core.distributed import Single
from workbench.core.model_config import count_parameters
from workbench.core.training_types import TrainControl, TrainResult
from workbench.jobs.checkpoint_check import verified_checkpoint
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import load_tokenizer_folder, save_content_addressed
from workbench.jobs.pretrain import Listener, Progress, get_run, split_step, start_pretraining
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig
from workbench.settings.model import BertConfig
from workbench.settings.pretrain import PretrainSpec
from workbench.store.runstore import CheckpointRecord, RunRecord

TEACHER_KINDS = ("pretrain", "distill", "imported")  # runs whose checkpoints are masked LMs with their tokenizer


def find_teacher(ws: Workspace, reference: str) -> tuple[RunRecord, CheckpointRecord]:
    """The teacher run and its checkpoint ("RUN" the latest, "RUN:STEP" that step's), its files checked."""
    name, step = split_step(ws, reference)
    run = get_run(ws, name)
    if run.kind not in TEACHER_KINDS:
        raise UserError(f"run {run.name!r} is a {run.kind} run; a teacher is a pretraining, distillation or "
                        "imported run (a masked LM)")
    objective = run.config.get("train", {}).get("objective", "mlm")
    if objective != "mlm":  # an ELECTRA run's masked-LM head is untrained; a CLM run reads one side only
        raise UserError(f"run {run.name!r} was trained with --objective {objective}; a teacher is a masked LM "
                        "(--objective mlm)")
    return run, verified_checkpoint(ws, run, step)


def teacher_tokenizer_folder(ws: Workspace, teacher: RunRecord, checkpoint: CheckpointRecord) -> Path | None:
    """Where an imported teacher's tokenizer is copied for its student (None for a teacher trained here: the
    student takes its tokenizer record)."""
    if teacher.kind != "imported":
        return None
    source = Path(read_checkpoint_config(Path(checkpoint.path))["tokenizer_path"])
    return save_content_addressed(load_tokenizer_folder(source, f"run {teacher.name!r}'s tokenizer"),
                                  ws.layout.tokenizers_dir)


def student_spec(teacher: RunRecord, spec: PretrainSpec, chosen: Collection[str]) -> PretrainSpec:
    """`spec` with the teacher's tokenizer, and its corpus, validation share and block length unless `chosen`
    names them ("corpus", "val_fraction", "max_position_embeddings"). An imported teacher has no corpus: the
    student keeps its own data settings and no tokenizer id (`teacher_tokenizer_folder`)."""
    if teacher.kind == "imported":
        if spec.tokenizer_id is not None:
            raise UserError(f"a student uses its teacher's tokenizer (imported with run {teacher.name!r}), not "
                            f"{spec.tokenizer_id}: it learns distributions over the teacher's vocabulary")
        return spec
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
                             distill=teacher_entry(teacher, checkpoint, settings),
                             tokenizer_folder=teacher_tokenizer_folder(ws, teacher, checkpoint))
