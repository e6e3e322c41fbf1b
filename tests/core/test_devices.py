"""Device and precision resolution: what this machine offers and the messages for what it lacks."""

from __future__ import annotations

import pytest
import torch

from workbench.core.devices import (
    DeviceError,
    available_devices,
    available_precisions,
    describe_device,
    resolve_device,
    resolve_precision,
)

HAS_CUDA = torch.cuda.is_available()


def test_cpu_is_always_available_and_last():
    assert available_devices()[-1] == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


def test_auto_prefers_cuda_then_cpu():
    device = resolve_device("auto")
    assert device.type == ("cuda" if HAS_CUDA else "mps" if "mps" in available_devices() else "cpu")


@pytest.mark.skipif(HAS_CUDA, reason="checks the message shown when CUDA is missing")
def test_missing_cuda_names_what_is_available():
    with pytest.raises(DeviceError, match=r"cuda requested but no CUDA device is available; available: .*cpu"):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="cuda:1"):
        resolve_device("cuda:1")


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_index_out_of_range():
    n = torch.cuda.device_count()
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    with pytest.raises(DeviceError, match=f"has {n} CUDA"):
        resolve_device(f"cuda:{n}")


def test_unknown_device_name():
    with pytest.raises(DeviceError, match=r"unknown device 'tpu'.*auto, cpu, cuda, cuda:N or mps"):
        resolve_device("tpu")


def test_describe_cpu_counts_cores():
    assert describe_device(torch.device("cpu")).startswith("CPU (")
    assert describe_device(torch.device("cpu"), 1).endswith("cores, 1 thread)")
    assert describe_device(torch.device("cpu"), 3).endswith("cores, 3 threads)")
    assert f"{torch.get_num_threads()} thread" in describe_device(torch.device("cpu"))


def test_cpu_precisions():
    cpu = torch.device("cpu")
    assert available_precisions(cpu) == ["fp32", "bf16"]
    fp32 = resolve_precision("fp32", cpu)
    assert fp32.autocast_dtype is None and not fp32.use_grad_scaler
    bf16 = resolve_precision("bf16", cpu)
    assert bf16.autocast_dtype is torch.bfloat16 and not bf16.use_grad_scaler


def test_fp16_on_cpu_is_refused_with_the_alternatives():
    with pytest.raises(DeviceError, match="fp16 is not supported on cpu; available: fp32, bf16"):
        resolve_precision("fp16", torch.device("cpu"))


def test_unknown_precision():
    with pytest.raises(DeviceError, match="unknown precision 'fp8'.*fp32, bf16, fp16"):
        resolve_precision("fp8", torch.device("cpu"))


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device")
def test_cuda_fp16_uses_a_grad_scaler():
    precision = resolve_precision("fp16", torch.device("cuda"))
    assert precision.autocast_dtype is torch.float16 and precision.use_grad_scaler
    assert "GiB" in describe_device(torch.device("cuda"))
