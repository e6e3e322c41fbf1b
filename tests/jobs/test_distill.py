"""Distillation runs on the bundled sample corpus: a tiny teacher, a smaller student that learns from it (recorded
as kind `distill`, its teacher the parent, with both models' sizes and speeds), an exact resume after a stop,
and the refusals (a teacher that is not one, another tokenizer, blocks longer than the teacher reads)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from workbench.core.checkpoints import file_sha256
from workbench.core.model_config import count_parameters
from workbench.core.training_types import StepEvent, TrainControl
from workbench.jobs.corpora import get_corpus
from workbench.jobs.distill import start_distillation
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import resume_pretraining, start_pretraining
from workbench.jobs.probe import load_probe_model
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig
from workbench.settings.model import BertConfig, ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.tokenizer import TokenizerConfig
from workbench.settings.train import TrainConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TEACHER_TRAIN = TrainConfig(steps=60, batch_size=16, lr=2e-3, warmup_steps=6, eval_every=30, checkpoint_every=30,
                            device="cpu", log_every=5)
STUDENT_TRAIN = replace(TEACHER_TRAIN, steps=30, eval_every=15, checkpoint_every=15)
STUDENT = PretrainSpec(model=ModelSpec(preset="seed-demo", num_hidden_layers=1, hidden_size=32,
                                       num_attention_heads=2, intermediate_size=64),
                       train=STUDENT_TRAIN)



@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("distill-home")
    with Workspace.open(str(folder)) as ws:
        train_tokenizer_for(ws, get_corpus(ws, None), TokenizerConfig(vocab_size=400))
        spec = PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=TEACHER_TRAIN,
                            name="teacher")
        _, result = start_pretraining(ws, spec)
    assert result.status == "completed", result.message
    return folder


@pytest.fixture
def ws(home: Path):
    with Workspace.open(str(home)) as ws:
        yield ws


def _losses(ws: Workspace, run_id: int) -> dict[int, float]:
    return {point.step: point.value for point in ws.store.metrics(run_id, "train_loss")}


def test_a_student_learns_from_its_teacher_and_is_recorded_as_a_distill_run(ws: Workspace):
    teacher = ws.store.get_run("teacher")
    run, result = start_distillation(ws, "teacher", replace(STUDENT, name="student"), DistillConfig())
    assert result.status == "completed", result.message
    losses = list(_losses(ws, run.id).values())
    assert losses[-1] < 0.9 * losses[0]
    assert (run.kind, run.parent_run_id, run.tokenizer_id, run.corpus_id) == \
        ("distill", teacher.id, teacher.tokenizer_id, teacher.corpus_id)
    # the teacher's data settings, the student's own shape
    assert run.config["data"]["max_len"] == 32 and run.config["data"]["val_fraction"] == 0.02
    student = BertConfig.from_dict(run.config["model"])
    assert (student.num_hidden_layers, student.hidden_size, student.vocab_size) == \
        (1, 32, BertConfig.from_dict(teacher.config["model"]).vocab_size)
    entry = run.config["distill"]
    last = ws.store.checkpoints(teacher.id)[-1]
    assert entry["settings"] == {"temperature": 2.0, "alpha": 0.5}
    assert entry["teacher"] == {"run_id": teacher.id, "name": "teacher", "step": 60, "checkpoint": last.path,
                                "sha256": last.sha256, "val_loss": last.metrics["val_loss"],
                                "parameters": count_parameters(BertConfig.from_dict(teacher.config["model"]))}
    assert count_parameters(student) < entry["teacher"]["parameters"] / 3
    speed = entry["speed"]
    assert speed["batch"] == [32, 32] and speed["device"] == "cpu"
    assert speed["student_tokens_per_second"] > 0 and speed["teacher_tokens_per_second"] > 0
    assert math.isfinite(result.val_loss) and ws.store.get_run(run.id).best_val_loss is not None
    assert load_probe_model(ws, "student", cache=None).model.config == student  # probed like any masked LM


def test_a_stopped_distill_run_resumes_exactly(ws: Workspace):
    straight, _ = start_distillation(ws, "teacher:30", replace(STUDENT, name="straight"), DistillConfig(alpha=0.7))
    control = TrainControl()

    def stop_at_20(event: object) -> None:
        if isinstance(event, StepEvent) and event.step == 20:
            control.stop()

    stopped, result = start_distillation(ws, "teacher:30", replace(STUDENT, name="stopped"), DistillConfig(alpha=0.7),
                                         listeners=[stop_at_20], control=control)
    assert result.status == "stopped" and result.steps == 20
    resumed, result = resume_pretraining(ws, "stopped")
    assert result.status == "completed" and resumed.kind == "distill" and resumed.config["distill"]["speed"]
    assert straight.config["distill"]["teacher"]["step"] == 30
    assert _losses(ws, resumed.id) == pytest.approx(_losses(ws, straight.id), rel=1e-6)


def test_a_resume_refuses_a_teacher_whose_weights_changed(ws: Workspace, tmp_path: Path):
    control = TrainControl()
    run, result = start_distillation(ws, "teacher", replace(STUDENT, name="orphan"), DistillConfig(),
                                     listeners=[lambda event: isinstance(event, StepEvent) and control.stop()],
                                     control=control)
    assert result.status == "stopped"
    teacher_file = Path(run.config["distill"]["teacher"]["checkpoint"]) / "model.safetensors"
    original = teacher_file.read_bytes()
    try:
        teacher_file.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
        assert file_sha256(teacher_file) != run.config["distill"]["teacher"]["sha256"]
        with pytest.raises(UserError, match="changed since the student started"):
            resume_pretraining(ws, "orphan")
    finally:
        teacher_file.write_bytes(original)
    assert ws.store.get_run("orphan").status == "stopped"


def test_what_cannot_teach_is_refused(ws: Workspace):
    with pytest.raises(UserError, match="uses its teacher's tokenizer"):
        start_distillation(ws, "teacher", replace(STUDENT, tokenizer_id=999), DistillConfig())
    too_long = replace(STUDENT, model=replace(STUDENT.model, max_position_embeddings=64))
    with pytest.raises(UserError, match="longer than its teacher reads"):
        start_distillation(ws, "teacher", too_long, DistillConfig(), chosen={"max_position_embeddings"})
    with pytest.raises(UserError, match="no checkpoint at step 7"):
        start_distillation(ws, "teacher:7", STUDENT, DistillConfig())
    finetune = ws.store.create_run("a-finetune", "finetune", {}, None, None)
    with pytest.raises(UserError, match="is a finetune run; a teacher is a pretraining, distillation or imported"):
        start_distillation(ws, finetune.name, STUDENT, DistillConfig())
    assert not [r for r in ws.store.list_runs() if r.kind == "distill" and r.name.startswith("run-")]


def test_a_teacher_trained_with_another_objective_is_refused(ws: Workspace):
    electra = ws.store.create_run("an-electra", "pretrain", {"train": {"objective": "electra"}}, None, None)
    with pytest.raises(UserError, match="trained with --objective electra; a teacher is a masked LM"):
        start_distillation(ws, electra.name, STUDENT, DistillConfig())
