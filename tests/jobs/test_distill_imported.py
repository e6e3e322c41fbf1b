"""An imported Hugging Face masked LM teaches a student: tiny random BERT, RoBERTa, DistilBERT and ModernBERT folders
(built with `transformers` in a temporary folder), imported as runs of kind `imported`, each distilled into a
one-layer student for a few steps on the bundled sample corpus. The student reads the teacher's tokenizer (copied
into the home, no store record), records the teacher as its parent with the checksum of its weights, is probed
like any masked LM and resumes. The ModernBERT teacher has more embedding rows than its tokenizer has tokens, as
real ModernBERT checkpoints do (the student, sized to the tokenizer, learns from the logits of real ids only)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest

from hf_folders import _train_wordpiece, make_hf_folder
from workbench.core.training_types import StepEvent, TrainControl
from workbench.jobs.distill import start_distillation
from workbench.jobs.errors import UserError
from workbench.jobs.export import export_hf
from workbench.jobs.interop import import_model
from workbench.jobs.pretrain import resume_pretraining
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace
from workbench.settings.distill import DistillConfig
from workbench.settings.model import BertConfig, ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.train import TrainConfig

transformers = pytest.importorskip("transformers")
pytestmark = pytest.mark.usefixtures("one_torch_thread")

TRAIN = TrainConfig(steps=6, batch_size=8, lr=2e-3, warmup_steps=1, eval_every=3, checkpoint_every=3, device="cpu",
                    log_every=1)
STUDENT = PretrainSpec(model=ModelSpec(preset="seed-demo", num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                                       intermediate_size=64, max_position_embeddings=32), train=TRAIN)
EXTRA_ROWS = 11  # the ModernBERT teacher's embedding rows past its tokenizer's ids


def _modernbert_folder(folder: Path) -> None:
    folder.mkdir(parents=True)
    vocab = _train_wordpiece(folder, tokenizer_json=True)
    config = transformers.ModernBertConfig(
        vocab_size=vocab + EXTRA_ROWS, hidden_size=32, intermediate_size=40, num_hidden_layers=2,
        num_attention_heads=2, max_position_embeddings=64, local_attention=8, global_attn_every_n_layers=2,
        pad_token_id=0, bos_token_id=2, eos_token_id=3, cls_token_id=2, sep_token_id=3, initializer_range=0.2)
    transformers.ModernBertForMaskedLM(config).eval().save_pretrained(folder)


@pytest.mark.parametrize("family", ["bert", "roberta", "distilbert", "modernbert"])
def test_an_imported_model_teaches_a_student(tmp_path: Path, family: str) -> None:
    folder = tmp_path / family
    _modernbert_folder(folder) if family == "modernbert" else make_hf_folder(folder, family)
    with Workspace(tmp_path / "home") as ws:
        teacher = import_model(ws, folder, name="teacher")
        teacher_checkpoint = ws.store.checkpoints(teacher.id)[-1]
        run, result = start_distillation(ws, "teacher", replace(STUDENT, name="student"), DistillConfig())
        assert result.status == "completed", result.message
        assert (run.kind, run.parent_run_id, run.tokenizer_id) == ("distill", teacher.id, None)
        entry = run.config["distill"]["teacher"]
        assert (entry["run_id"], entry["step"], entry["sha256"]) == (teacher.id, 0, teacher_checkpoint.sha256)
        # the teacher's tokenizer, copied out of its run folder: the student outlives a deleted teacher
        tokenizer_path = Path(run.config["data"]["tokenizer_path"])
        assert (tokenizer_path / "tokenizer.json").is_file() and ws.layout.tokenizers_dir in tokenizer_path.parents
        probe = load_probe_model(ws, "student", cache=None)
        teacher_vocab = BertConfig.from_dict(teacher.config["model"]).vocab_size
        assert probe.model.config.vocab_size == probe.tokenizer.vocab_size == \
            teacher_vocab - (EXTRA_ROWS if family == "modernbert" else 0)
        assert math.isfinite(result.val_loss) and run.config["distill"]["speed"]["teacher_tokens_per_second"] > 0
        if family == "bert":  # its model card names the tokenizer it took
            export_hf(ws, "student", None, tmp_path / "export")
            card = (tmp_path / "export" / "README.md").read_text(encoding="utf-8")
            assert "Tokenizer: its teacher's, imported with it from Hugging Face" in card
            assert "the predictions of run `teacher` at step 0" in card


def test_a_student_of_an_imported_teacher_resumes_exactly(tmp_path: Path) -> None:
    make_hf_folder(tmp_path / "bert", "bert")
    with Workspace(tmp_path / "home") as ws:
        import_model(ws, tmp_path / "bert", name="teacher")
        straight, _ = start_distillation(ws, "teacher", replace(STUDENT, name="straight"), DistillConfig())
        control = TrainControl()

        def stop_at_3(event: object) -> None:
            if isinstance(event, StepEvent) and event.step == 3:
                control.stop()

        _, result = start_distillation(ws, "teacher", replace(STUDENT, name="stopped"), DistillConfig(),
                                       listeners=[stop_at_3], control=control)
        assert result.status == "stopped"
        resumed, result = resume_pretraining(ws, "stopped")
        assert result.status == "completed"
        losses = {p.step: p.value for p in ws.store.metrics(resumed.id, "train_loss")}
        assert losses == pytest.approx({p.step: p.value for p in ws.store.metrics(straight.id, "train_loss")},
                                       rel=1e-6)
        with pytest.raises(UserError, match="uses its teacher's tokenizer"):
            start_distillation(ws, "teacher", replace(STUDENT, tokenizer_id=1), DistillConfig())
