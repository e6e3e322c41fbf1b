"""Knowledge distillation: a student learns a teacher's softened predictions at the masked positions.

The loss at each step is alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) + (1 - alpha) * the
student's ordinary masked-LM loss, both averaged over the masked positions (Hinton, Vinyals & Dean 2015; DistilBERT,
Sanh et al. 2019, uses T = 2). The T^2 keeps the soft term's gradients the same size whatever the temperature.
Teacher and student read the same masked batch; the teacher is frozen, in eval mode (no dropout), and never saved
with the student. `Trainer` takes a `Distiller` and asks it for the loss of each micro-batch.
"""

from __future__ import annotations

import time
from pathlib import Path

import safetensors.torch
import torch
import torch.nn.functional as F

from workbench.core.checkpoints import MODEL_FILE, CheckpointError, file_sha256, read_checkpoint_config
from workbench.core.modeling_bert import BertForMaskedLM, MaskedLMOutput
from workbench.settings.distill import DistillConfig
from workbench.settings.model import BertConfig


def load_masked_lm(checkpoint: Path, device: str | torch.device = "cpu") -> BertForMaskedLM:
    """The model a checkpoint folder holds, its weights only (not the training state), in eval mode."""
    model = BertForMaskedLM(BertConfig.from_dict(read_checkpoint_config(checkpoint)["model"]))
    safetensors.torch.load_model(model, str(checkpoint / MODEL_FILE), strict=True, device=str(device))
    return model.eval()


def soft_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(teacher || student) of the temperature-softened distributions, averaged over the N positions;
    logits (N, V). Computed in fp32 whatever the autocast: the log-softmax of bf16 logits loses the small terms."""
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    kl = F.kl_div(student, teacher, reduction="sum", log_target=True) / max(student_logits.shape[0], 1)
    return kl * temperature**2


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, hard_loss: torch.Tensor,
                      config: DistillConfig) -> torch.Tensor:
    """alpha * soft loss + (1 - alpha) * hard loss (the student's masked-LM cross-entropy on the true tokens)."""
    soft = soft_loss(student_logits, teacher_logits, config.temperature)
    return config.alpha * soft + (1.0 - config.alpha) * hard_loss


class Distiller:
    """The frozen teacher and the loss it teaches with; `loss(student_output, inputs)` per micro-batch."""

    def __init__(self, teacher: BertForMaskedLM, config: DistillConfig) -> None:
        self.teacher, self.config = teacher.eval().requires_grad_(False), config

    @classmethod
    def load(cls, checkpoint: Path, sha256: str, config: DistillConfig) -> Distiller:
        """The teacher from its checkpoint folder, refused unless its weights are the ones `sha256` names: a
        resumed student must go on learning from the same teacher."""
        weights = Path(checkpoint) / MODEL_FILE
        if not weights.is_file():
            raise CheckpointError(f"the teacher's checkpoint {checkpoint} is missing")
        if file_sha256(weights) != sha256:
            raise CheckpointError(f"the teacher's checkpoint {checkpoint} changed since the student started learning "
                                  "from it (its weights' checksum differs)")
        return cls(load_masked_lm(Path(checkpoint)), config)

    def to(self, device: torch.device) -> Distiller:
        self.teacher.to(device)
        return self

    def loss(self, student: MaskedLMOutput, inputs: dict[str, torch.Tensor | None]) -> torch.Tensor:
        """The distillation loss of one micro-batch; `inputs` are the student's (input_ids, attention_mask,
        labels), so the teacher's logits come at the same masked positions in the same order."""
        with torch.no_grad():
            teacher_logits = self.teacher(**inputs).logits  # (N, V_teacher)
        # An imported teacher's embeddings may have rows past its tokenizer's last id (padded to a multiple of 8,
        # say): no text ever holds those ids, and the student, sized to the tokenizer, has no output for them.
        teacher_logits = teacher_logits[:, :student.logits.shape[-1]]
        return distillation_loss(student.logits, teacher_logits, student.loss, self.config)


@torch.inference_mode()
def inference_speed(model: BertForMaskedLM, input_ids: torch.Tensor, repeats: int = 5) -> float:
    """Tokens per second of `model` reading `input_ids` (B, T) without labels (every position predicted, as in
    use), after one warm-up pass; the model is left in eval mode on its device."""
    model.eval()
    input_ids = input_ids.to(next(model.parameters()).device)
    model(input_ids)
    started = time.perf_counter()
    for _ in range(repeats):
        model(input_ids)
    if input_ids.device.type == "cuda":
        torch.cuda.synchronize(input_ids.device)
    return repeats * input_ids.numel() / (time.perf_counter() - started)
