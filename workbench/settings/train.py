"""Pretraining's optimiser, schedule, batch, intervals and hardware: `TrainConfig`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from workbench.settings.base import Settings, setting

PRECISIONS = ("fp32", "bf16", "fp16")
SCHEDULES = ("linear", "cosine", "constant")
DEVICE_PATTERN = r"auto|cpu|mps|cuda(:\d+)?"
DEVICE_WORDS = "auto, cpu, cuda, cuda:N or mps"
MAX_STEPS = 10_000_000
MAX_SEED = 2**63 - 1


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
                                "first updates gentle.", "Warm-up steps", flag="--warmup", low=0, high=MAX_STEPS,
                                advanced=True)
    schedule: str = setting("linear", "How the learning rate falls to 0 after warm-up: linear, cosine, or constant "
                            "(stays at the peak).", "Schedule", choices=SCHEDULES, advanced=True)
    weight_decay: float = setting(0.01, "Pulls weights gently towards zero to avoid overfitting (AdamW, not on "
                                  "biases and LayerNorm).", "Weight decay", low=0.0, high=1.0, step=0.01, advanced=True)
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
    seed: int = seed_setting("Starting point of all randomness (weights, data order, dropout, masks): the same seed "
                             "gives the same run.")
    log_every: int = setting(10, "Steps between points on the training-loss curve.", "Log every", low=1,
                             high=100_000, advanced=True)
    time_budget: float | None = setting(None, "Train for this many minutes of training time (pauses not counted): "
                                        "the learning rate decays with the clock, as Cramming fits its schedule "
                                        "to a budget, and Steps becomes an upper limit.", "Time budget (minutes)",
                                        low=0.01, high=100_000.0, none="the step count", suggested=10.0,
                                        metavar="MINUTES", decimals=2, advanced=True)
