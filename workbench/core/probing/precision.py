"""The number format a probed model computes in (`ProbeConfig.precision`): fp32, exact (the default), or bf16, the
weights cast to bfloat16.

Casting the weights, rather than running an fp32 model under bf16 autocast, is what makes bf16 pay at inference:
BERT-base's encoder on 128 tokens took 189 ms in fp32, 109 ms under autocast (which casts every weight again on
each call) and 72 ms with bf16 weights (2-core AMD EPYC VM with AVX512-BF16). The attention softmax runs in fp32
either way (`modeling_bert`), and every probe function reads its outputs as float32 (`.float()`), so what a cast
model returns (probabilities, attention, scores) is float32 like an fp32 model's; only its values differ slightly.

Where a device cannot compute in bf16, `precision_note` refuses with a `DeviceError`; where it can but has no bf16
units (a CPU without AVX512-BF16, AMX or Arm's BF16; a GPU before Ampere), it says that bf16 may be slower.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from workbench.core.devices import DeviceError
from workbench.settings.probe import INFERENCE_PRECISIONS

M = TypeVar("M", bound=nn.Module)
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})  # x86's flags, and Arm's "bf16" feature
CPUINFO = Path("/proc/cpuinfo")
DIFFERS = "probabilities differ slightly from fp32's"


def cpu_has_bf16(cpuinfo: str | None = None) -> bool | None:
    """Whether this CPU has bf16 instructions, from the flags in /proc/cpuinfo (or `cpuinfo`, its text); None
    where they cannot be read (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    flags = {flag for line in cpuinfo.splitlines() if line.lower().startswith(("flags", "features"))
             for flag in line.split(":", 1)[-1].split()}
    return bool(flags & BF16_CPU_FLAGS) if flags else None


def precision_note(precision: str, device: torch.device, cpuinfo: str | None = None) -> str | None:
    """What a user should know about probing in `precision` on `device` (None for fp32): whether bf16 is faster
    there or may be slower (a CPU's support read from `cpuinfo`, default /proc/cpuinfo). Raises `DeviceError` for
    a precision the device cannot compute in."""
    if precision not in INFERENCE_PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}: use one of {', '.join(INFERENCE_PRECISIONS)}")
    if precision == "fp32":
        return None
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported(including_emulation=False):
            return f"bf16 on {torch.cuda.get_device_name(device)}: faster than fp32; {DIFFERS}"
        if torch.cuda.is_bf16_supported(including_emulation=True):
            return f"bf16 on a GPU without bf16 units: still correct, but may be slower than fp32; {DIFFERS}"
        raise DeviceError("bf16 is not supported on this GPU; probe in fp32")
    if device.type != "cpu":
        raise DeviceError(f"bf16 probing is offered on the CPU and on CUDA GPUs, not on {device.type}; use fp32")
    has_bf16 = cpu_has_bf16(cpuinfo)
    if has_bf16:
        return f"bf16 on a CPU with bf16 instructions: about twice as fast as fp32 on a large model; {DIFFERS}"
    if has_bf16 is False:
        return ("bf16 on a CPU without bf16 instructions (AVX512-BF16, AMX): still correct, but may be slower than "
                f"fp32; {DIFFERS}")
    return f"bf16 on a CPU whose bf16 instructions are unknown: without them it may be slower than fp32; {DIFFERS}"


def cast_for_inference(model: M, precision: str) -> M:
    """`model` with its weights in `precision` (in place; fp32 leaves it as it is)."""
    return model.to(torch.bfloat16) if precision == "bf16" else model
