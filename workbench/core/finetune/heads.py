"""Task models on the workbench encoder, with HuggingFace's parameter names and losses.

`BertForSequenceClassification` (pooler `bert.pooler.dense` + tanh on [CLS], dropout, `classifier`),
`BertForTokenClassification` (dropout, `classifier` on every token; labels -100 are ignored) and
`BertForQuestionAnswering` (`qa_outputs`: a start and an end logit per token; loss the mean of the two
cross-entropies). Their state_dict names equal HF's, so `bert.*` comes straight from a pretraining
checkpoint (`from_pretraining`) while the head keeps its fresh N(0, initializer_range) initialisation; the
"scratch" baseline is the same model with every weight freshly initialised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from workbench.core.checkpoints import load_checkpoint, read_checkpoint_config
from workbench.core.modeling_bert import BertForMaskedLM, BertModel
from workbench.settings.model import BertConfig


@dataclass
class TaskOutput:
    loss: torch.Tensor | None  # scalar
    logits: torch.Tensor  # (B, K) classify, (B, T, K) tag, (B, T, 2) qa: [..., 0] start, [..., 1] end


class BertPooler(nn.Module):
    """HF's pooler: dense + tanh on the first ([CLS]) token."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))  # (B, T, H) -> (B, H)


class _TaskModel(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config)

    def init_weights(self) -> None:
        # Same initialisation as pretraining (one definition, in BertForMaskedLM).
        self.apply(partial(BertForMaskedLM._init_weights, self))  # type: ignore[arg-type]

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
               token_type_ids: torch.Tensor | None) -> torch.Tensor:
        return self.bert(input_ids, attention_mask, token_type_ids).last_hidden_state  # (B, T, H)


class BertForSequenceClassification(_TaskModel):
    def __init__(self, config: BertConfig, num_labels: int) -> None:
        super().__init__(config)
        self.num_labels = num_labels
        self.bert.pooler = BertPooler(config)  # under `bert.` as in HF, though BertModel.forward skips it
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> TaskOutput:
        """labels: (B,) class indices."""
        pooled = self.bert.pooler(self.encode(input_ids, attention_mask, token_type_ids))  # (B, H)
        logits = self.classifier(self.dropout(pooled))  # (B, K)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return TaskOutput(loss, logits)


class BertForTokenClassification(_TaskModel):
    def __init__(self, config: BertConfig, num_labels: int) -> None:
        super().__init__(config)
        self.num_labels = num_labels
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        self.init_weights()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> TaskOutput:
        """labels: (B, T), -100 on pieces that are not the first of a word, specials and padding."""
        logits = self.classifier(self.dropout(self.encode(input_ids, attention_mask, token_type_ids)))  # (B, T, K)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.num_labels), labels.reshape(-1), ignore_index=-100)
        return TaskOutput(loss, logits)


class BertForQuestionAnswering(_TaskModel):
    def __init__(self, config: BertConfig, num_labels: int = 2) -> None:
        super().__init__(config)
        self.qa_outputs = nn.Linear(config.hidden_size, 2)
        self.init_weights()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, start_positions: torch.Tensor | None = None,
                end_positions: torch.Tensor | None = None) -> TaskOutput:
        """start_positions, end_positions: (B,) token indices (0, the [CLS], for no answer in this window)."""
        logits = self.qa_outputs(self.encode(input_ids, attention_mask, token_type_ids))  # (B, T, 2)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = (F.cross_entropy(logits[..., 0], start_positions)
                    + F.cross_entropy(logits[..., 1], end_positions)) / 2
        return TaskOutput(loss, logits)


TASK_MODELS: dict[str, type[_TaskModel]] = {
    "classify": BertForSequenceClassification,
    "tag": BertForTokenClassification,
    "qa": BertForQuestionAnswering,
}


def build_task_model(task: str, config: BertConfig, num_labels: int) -> _TaskModel:
    """A freshly initialised model for `task` ("classify", "tag" or "qa")."""
    if task not in TASK_MODELS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASK_MODELS)}")
    return TASK_MODELS[task](config, num_labels)


def pretraining_config(checkpoint: str | Path) -> BertConfig:
    """The encoder config saved with a pretraining checkpoint. A causal LM's (CLM) is fine-tuned reading both
    ways: its [CLS] at position 0 would otherwise see only itself, leaving a classifier nothing to read."""
    return BertConfig.from_dict({**read_checkpoint_config(checkpoint)["model"], "is_decoder": False})


def from_pretraining(task: str, checkpoint: str | Path, num_labels: int) -> _TaskModel:
    """A task model whose `bert.*` weights are the pretraining checkpoint's; the head is freshly initialised."""
    config = pretraining_config(checkpoint)
    mlm = BertForMaskedLM(config)
    load_checkpoint(Path(checkpoint), mlm)
    model = build_task_model(task, config, num_labels)
    encoder = {k: v for k, v in mlm.state_dict().items() if k.startswith("bert.")}
    missing, unexpected = model.load_state_dict(encoder, strict=False)
    new = [k for k in missing if k.startswith("bert.") and not k.startswith("bert.pooler.")]
    if new or unexpected:  # only the head (and HF's pooler, which MLM pretraining never trains) may be new
        raise ValueError(f"{checkpoint}: encoder weights do not fit the task model (missing {new[:3]}, "
                         f"unexpected {list(unexpected)[:3]})")
    return model


def freeze(model: _TaskModel, embeddings: bool, layers: int) -> None:
    """Stop training the embeddings and/or the first `layers` encoder layers."""
    if not 0 <= layers <= model.config.num_hidden_layers:
        raise ValueError(f"--freeze-layers must be between 0 and {model.config.num_hidden_layers}, got {layers}")
    frozen = ([model.bert.embeddings] if embeddings else []) + list(model.bert.encoder.layer[:layers])
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
