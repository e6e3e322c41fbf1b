"""Pretraining's optimiser, schedule, batch, intervals and hardware: `TrainConfig`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.settings.base import Settings, setting

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("linear", "cosine", "constant", "wsd", "one-cycle")
DECAY_FRACTION = 0.2  # warmup-stable-decay's final share, as in Hägele et al. 2024
DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
DEVICE_WORDS = "auto, cpu, cuda, cuda:N or mps"
MAX_STEPS = 10_000_000
MAX_SEED = 2**63 - 1
OBJECTIVES = ("mlm", "clm", "electra")
# What each objective's losses average over, for the Runs panel's note beside overlaid curves.
LOSS_COUNTS = {
    "mlm": "val loss: cross-entropy per masked token (fill-in-the-middle); accuracy: masked tokens guessed right",
    "clm": "val loss: cross-entropy per next token (left context only); accuracy: next tokens guessed right",
    "electra": "val loss: the generator's cross-entropy per masked token (comparable to MLM); train loss: generator "
               "loss + disc_weight x the discriminator's replaced-token loss per token",
}


def is_valid_device_name(name: str) -> bool:
    """True when `name` is spelled like a device ("auto", "cpu", "cuda", "cuda:N", "mps")."""
    return re.fullmatch(DEVICE_PATTERN, name) is not None


def device_setting(help: str) -> object:
    """The device field, shared by pretraining and fine-tuning."""
    return setting("auto", help, "Device", pattern=DEVICE_PATTERN, allowed=DEVICE_WORDS)


def seed_setting(help: str) -> object:
    return setting(0, help, "Seed", low=0, high=MAX_SEED, advanced=True)


@dataclass(frozen=True)
class TrainConfig(Settings):
    section = "training"

    steps: int = setting(1000, "How many times the model's weights are updated (optimizer steps).", "Steps",
                         low=1, high=MAX_STEPS)
    batch_size: int = setting(32, "How many text blocks the model reads at once in each step (a step sees batch "
                              "size x gradient accumulation).", "Batch size", low=1, high=65536)
    lr: float = setting(5e-4, "Peak learning rate: how big each update is; too high and training diverges, too low "
                        "and it learns slowly.", "Learning rate", low=0.0, low_open=True, log_scale=True,
                        widget_high=1.0)
    warmup_steps: int = setting(100, "Steps over which the learning rate climbs from 0 to its peak, which keeps the "
                                "first updates gentle (one-cycle ignores it: its climb is the first half of the run).",
                                "Warm-up steps", flag="--warmup", low=0, high=MAX_STEPS, advanced=True)
    schedule: str = setting("linear", "How the learning rate moves: after warm-up it falls to 0 (linear, cosine), "
                            "stays at the peak (constant), or stays then falls over the run's last part (wsd, "
                            "warmup-stable-decay, MiniCPM 2024); one-cycle rises to the peak at half the run and falls "
                            "back to 0, with no separate warm-up (Cramming, Geiping & Goldstein 2022).", "Schedule",
                            choices=SCHEDULES, advanced=True)
    decay_fraction: float = setting(DECAY_FRACTION, "With the wsd schedule: the share of the run after warm-up (or "
                                    "of the time budget) over which the learning rate falls from the peak to 0.",
                                    "Decay fraction", low=0.0, low_open=True, high=1.0, step=0.05, decimals=2,
                                    advanced=True)
    weight_decay: float = setting(0.01, "Pulls weights gently towards zero to avoid overfitting (AdamW, not on "
                                  "biases and LayerNorm).", "Weight decay", low=0.0, high=1.0, step=0.01, decimals=5,
                                  advanced=True)  # 5 decimals: MosaicBERT's and ModernBERT's 1e-5
    adam_betas: tuple[float, float] = setting((0.9, 0.999), "AdamW's two averaging factors, of the gradient and of "
                                              "its square.", "Adam betas", low=0.0, high=1.0, high_open=True,
                                              metavar="B", advanced=True)
    adam_eps: float = setting(1e-6, "AdamW's small number that keeps an update finite where the gradient is near "
                              "zero.", "Adam epsilon", low=0.0, low_open=True, high=1.0, log_scale=True, advanced=True)
    grad_clip: float = setting(1.0, "Caps the size of each update's gradient (its global norm) to keep training "
                               "stable; 0 turns the cap off.", "Gradient clip", low=0.0, high=1000.0, special="off",
                               step=0.5, decimals=2, advanced=True)
    grad_accum: int = setting(1, "Adds up this many batches before each update: a bigger effective batch without "
                              "more memory.", "Gradient accumulation", low=1, high=1024, advanced=True)
    eval_every: int = setting(100, "Steps between checks on held-out text (validation loss, accuracy, unigram "
                              "baseline); 0 checks only at the end.", "Evaluate every", low=0, high=MAX_STEPS,
                              special="only at the end")
    eval_batches: int = setting(20, "How many held-out batches each check reads.", "Evaluation batches", low=1,
                                high=100_000, advanced=True)
    checkpoint_every: int = setting(500, "Steps between saved copies of the model (one is also saved at the end and "
                                    "on Stop); 0 saves only then.", "Checkpoint every", low=0, high=MAX_STEPS,
                                    special="only at the end", advanced=True)
    device: str = device_setting("Where the model trains: a GPU (cuda, mps) when this computer has one, else the "
                                 "CPU; auto picks the best there is.")
    precision: str = setting("fp32", "Number format of the computation: fp32 is exact; bf16 and fp16 (CUDA, with a "
                             "gradient scaler) are faster on hardware that supports them.", "Precision",
                             choices=PRECISIONS, advanced=True)
    objective: str = setting("mlm", "What the model learns to predict: mlm fills in masked tokens (BERT); clm "
                             "predicts each next token with a causal mask (GPT-style, on the same encoder); electra "
                             "trains a small generator to fill masks and the model to spot the replaced tokens "
                             "(ELECTRA).", "Objective", choices=OBJECTIVES)
    generator_hidden_size: float = setting(0.25, "ELECTRA: the generator's hidden size as a share of the "
                                           "model's (the discriminator's); the paper found 1/4 to 1/2 best.",
                                           "Generator size", low=0.0, low_open=True, high=1.0, step=0.05,
                                           decimals=3, advanced=True)
    disc_weight: float = setting(50.0, "ELECTRA: the weight of the discriminator's replaced-token loss against the "
                                 "generator's masked-LM loss (lambda, 50 in the paper).", "Discriminator weight",
                                 low=0.0, low_open=True, high=10_000.0, step=5.0, advanced=True)
    seed: int = seed_setting("Starting point of all randomness (weights, data order, dropout, masks): the same seed "
                             "gives the same run.")
    log_every: int = setting(10, "Steps between points on the training-loss curve.", "Log every", low=1,
                             high=100_000, advanced=True)
    time_budget: float | None = setting(None, "Train for this many minutes of training time (pauses not counted): "
                                        "the learning rate decays with the clock, as Cramming fits its schedule "
                                        "to a budget, and Steps becomes an upper limit.", "Time budget (minutes)",
                                        low=0.01, high=100_000.0, none="the step count", suggested=10.0,
                                        metavar="MINUTES", decimals=2, advanced=True)
