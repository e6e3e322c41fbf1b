"""Fine-tuning's settings: `FinetuneConfig` (task, learning rates, epochs, batch, lengths, freezing, stopping)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from workbench.settings.base import Settings, setting
from workbench.settings.model import MAX_POSITIONS, MIN_POSITIONS
from workbench.settings.train import device_setting, seed_setting

TASKS = ("classify", "tag", "qa")
# The learning rate by the model's hidden size, largest model first: (smallest hidden size, lr). BERT's own
# 3e-5 for base and large; 3e-4 for tiny to small, measured on SST-2 (bench/finetune_lr.py, docs/finetuning.md).
LR_BY_SIZE = ((768, 3e-5), (512, 1e-4), (0, 3e-4))
LR_BY_SIZE_TEXT = "3e-4 up to hidden size 256 (tiny, mini, small), 1e-4 for medium, 3e-5 for base and large"
NO_ANSWER = ("auto", "allow", "forbid")


def lr_for_size(hidden_size: int) -> float:
    """The default fine-tuning learning rate of a model with this hidden size (LR_BY_SIZE)."""
    return next(lr for smallest, lr in LR_BY_SIZE if hidden_size >= smallest)


@dataclass(frozen=True)
class FinetuneConfig(Settings):
    section = "fine-tuning"

    task: str = setting("classify", "What the model learns: a label per text (classify), a tag per word (tag, "
                        "CoNLL), or the answer span of a question in a passage (qa, SQuAD).", "Task", choices=TASKS)
    lr: float | None = setting(None, "How big each update of the pretrained weights is. By the model's size: "
                               f"{LR_BY_SIZE_TEXT}. BERT's 3e-5 leaves a tiny model at chance on SST-2 "
                               "(docs/finetuning.md).", "Learning rate", low=0.0, low_open=True, log_scale=True,
                               widget_high=1.0, none="the rate for the model's size")
    head_lr: float | None = setting(None, "How big each update of the new output layer is; it starts from random "
                                    "weights, so a larger value can help.", "Head learning rate", low=0.0,
                                    low_open=True, log_scale=True, widget_high=1.0, none="the learning rate",
                                    advanced=True)
    epochs: int = setting(3, "How many times the model reads the whole training file.", "Epochs", low=1, high=1000)
    batch_size: int = setting(16, "How many examples the model reads at once in each step.", "Batch size", low=1,
                              high=4096)
    warmup_ratio: float = setting(0.1, "Share of all steps over which the learning rate climbs from 0 to its "
                                  "peak.", "Warm-up share", low=0.0, high=1.0, high_open=True, step=0.05,
                                  decimals=2, advanced=True)
    weight_decay: float = setting(0.01, "Pulls weights gently towards zero to avoid overfitting.", "Weight decay",
                                  low=0.0, high=1.0, step=0.01, advanced=True)
    max_len: int = setting(128, "Longest input in tokens; longer texts are cut (at most what the model was "
                           "pretrained with).", "Max length", low=MIN_POSITIONS, high=MAX_POSITIONS, step=8)
    doc_stride: int | None = setting(None, "qa: how many tokens consecutive windows of a long passage share (their "
                                     "overlap, as in Hugging Face), at least the longest answer, so that no answer "
                                     "is cut where two windows meet.", "Window overlap", low=0, high=MAX_POSITIONS,
                                     none="a third of the max length (128 at 384, as Hugging Face)", advanced=True)
    no_answer: str = setting("auto", "qa: whether the model may answer that the passage holds no answer (SQuAD "
                             "2.0). auto: when the training data has unanswerable questions; allow or forbid it "
                             "regardless.", "No answer", choices=NO_ANSWER, advanced=True)
    max_answer_len: int = setting(30, "qa: the longest answer, in tokens.", "Longest answer", low=1, high=1000,
                                  advanced=True)
    freeze_embeddings: bool = setting(False, "Keep the word embeddings as pretraining left them (train the rest).",
                                      "Freeze embeddings", advanced=True)
    freeze_layers: int = setting(0, "Keep the lowest N encoder layers as pretraining left them.",
                                 "Freeze lowest layers", low=0, high=96, special="none", metavar="N", advanced=True)
    seed: int = seed_setting("Starting point of all randomness (new head, data order, dropout): the same seed gives "
                             "the same run.")
    early_stopping: int = setting(0, "Stop after this many epochs without a better validation score; 0 trains all "
                                  "epochs.", "Early stopping", low=0, high=100, special="off", metavar="N",
                                  advanced=True)
    grad_clip: float = setting(1.0, "Caps the size of each update's gradient (its global norm); 0 turns the cap off.",
                               "Gradient clip", low=0.0, high=1000.0, special="off", step=0.5, decimals=2,
                               advanced=True)
    device: str = device_setting("Where the model trains: a GPU when this computer has one, else the CPU; auto "
                                 "picks the best there is.")

    def resolved(self, hidden_size: int) -> FinetuneConfig:
        """These settings with the learning rate a model of `hidden_size` gets when none was chosen."""
        return self if self.lr is not None else replace(self, lr=lr_for_size(hidden_size))
