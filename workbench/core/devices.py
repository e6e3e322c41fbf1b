"""Device and precision resolution with messages a user can act on.

A run names its device as "auto", "cpu", "cuda", "cuda:N" or "mps" and its precision as "fp32", "bf16"
or "fp16". `resolve_device` turns the name into a `torch.device` ("auto" prefers CUDA, then Apple MPS,
then the CPU) and `resolve_precision` into the autocast dtype and whether a GradScaler is needed. Both
raise `DeviceError` (a `ValueError`) that says what was asked for and what this machine offers instead,
so the GUI and CLI can show the message as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from workbench.settings.train import PRECISIONS, is_valid_device_name


class DeviceError(ValueError):
    """A device or precision that this machine cannot provide."""


@dataclass(frozen=True)
class Precision:
    """How to run the forward pass: autocast to `autocast_dtype` (None: plain fp32)."""

    autocast_dtype: torch.dtype | None
    use_grad_scaler: bool


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Device names usable on this machine, e.g. ["cuda:0", "cuda:1", "cpu"]."""
    names = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        names.append("mps")
    names.append("cpu")
    return names


def resolve_device(name: str = "auto") -> torch.device:
    """Turn a device name into a `torch.device`, raising `DeviceError` when it is missing here."""
    name = name.strip().lower()
    available = ", ".join(available_devices())
    if not is_valid_device_name(name):
        raise DeviceError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps (available: {available})")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"{name} requested but no CUDA device is available; available: {available}")
        index = int(name.split(":")[1]) if ":" in name else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceError(f"{name} requested but this machine has {torch.cuda.device_count()} CUDA "
                              f"device(s); available: {available}")
        return torch.device("cuda", index)
    if name == "mps" and not _mps_available():
        raise DeviceError(f"mps requested but Apple MPS is not available; available: {available}")
    return torch.device(name)


def describe_device(device: torch.device, threads: int | None = None) -> str:
    """A one-line description for logs and the GUI: GPU name and memory, or the CPU's cores and the torch
    threads that work on them (`threads`, default: this process's torch.get_num_threads())."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"{props.name} ({props.total_memory / 2**30:.1f} GiB, cuda:{index})"
    if device.type == "mps":
        return "Apple GPU (MPS)"
    threads = torch.get_num_threads() if threads is None else threads
    return f"CPU ({os.cpu_count() or 1} cores, {threads} thread{'' if threads == 1 else 's'})"


def available_precisions(device: torch.device) -> list[str]:
    """Precisions that train on `device`: bf16 where autocast supports it, fp16 only on CUDA."""
    if device.type == "cuda":
        bf16 = torch.cuda.is_bf16_supported()
        return ["fp32", "bf16", "fp16"] if bf16 else ["fp32", "fp16"]
    if device.type == "cpu":
        return ["fp32", "bf16"]
    # MPS autocast depends on the macOS version; fp32 is the one choice that always works there.
    return ["fp32"]


def resolve_precision(precision: str, device: torch.device) -> Precision:
    """Map "fp32" | "bf16" | "fp16" to autocast settings, raising `DeviceError` if `device` lacks it."""
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}: use one of {', '.join(PRECISIONS)}")
    supported = available_precisions(device)
    if precision not in supported:
        raise DeviceError(f"{precision} is not supported on {device.type}; available: {', '.join(supported)}")
    if precision == "bf16":
        return Precision(torch.bfloat16, use_grad_scaler=False)
    if precision == "fp16":
        # fp16 gradients underflow without loss scaling; bf16 has fp32's exponent range and needs none.
        return Precision(torch.float16, use_grad_scaler=True)
    return Precision(None, use_grad_scaler=False)


def free_memory_bytes(device: torch.device) -> int | None:
    """Memory free for a run on `device` now: the GPU's free memory, or the system's available memory for the
    CPU (Linux's MemAvailable); None where it cannot be read (then nothing is checked)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None

