"""How probing runs a checkpoint: `ProbeConfig` (the `--precision` of `probe`, `score`, `attention` and
`rank-heads`; the Probe panel's "Precision"). Not part of a run's settings: it changes how fast a checkpoint
answers, not what it learned, and nothing is recorded with it."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.settings.base import Settings, setting

INFERENCE_PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class ProbeConfig(Settings):
    section = "inference"

    precision: str = setting("fp32", "Number format the model computes in while it is probed: fp32 is exact; bf16 "
                             "is about twice as fast on CPUs with bf16 instructions (AVX512-BF16, AMX) and on "
                             "recent GPUs, and its probabilities differ slightly (they are still shown as fp32 "
                             "numbers).", "Precision", choices=INFERENCE_PRECISIONS, advanced=True)
