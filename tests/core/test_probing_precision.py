"""Inference precision for probing: bf16 support read from the CPU's flags, the note that says what bf16 means on
a device (faster, or may be slower), refusals where it cannot run, and the cast itself."""

from __future__ import annotations

import pytest
import torch

from workbench.core.devices import DeviceError
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.precision import cast_for_inference, cpu_has_bf16, precision_note
from workbench.settings.model import preset_config

X86_WITH = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n"
X86_WITHOUT = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n"
ARM_WITH = "processor\t: 0\nFeatures\t: fp asimd bf16 i8mm\n"
NO_FLAGS = "model name\t: a CPU that lists no flags\n"


def test_bf16_instructions_are_read_from_the_cpu_flags() -> None:
    assert cpu_has_bf16(X86_WITH) is True
    assert cpu_has_bf16(X86_WITHOUT) is False
    assert cpu_has_bf16(ARM_WITH) is True
    assert cpu_has_bf16(NO_FLAGS) is None


def test_the_note_says_when_bf16_may_be_slower() -> None:
    cpu = torch.device("cpu")
    assert precision_note("fp32", cpu) is None
    assert "may be slower" in precision_note("bf16", cpu, X86_WITHOUT)
    assert "may be slower" in precision_note("bf16", cpu, NO_FLAGS)  # cannot tell: say it may be
    fast = precision_note("bf16", cpu, X86_WITH)
    assert "slower" not in fast and "differ slightly" in fast


def test_a_precision_the_device_cannot_compute_in_is_refused() -> None:
    with pytest.raises(DeviceError, match="unknown precision 'fp16'"):
        precision_note("fp16", torch.device("cpu"))
    with pytest.raises(DeviceError, match="not on mps"):
        precision_note("bf16", torch.device("mps"))


def test_the_cast_changes_the_weights_and_outputs_read_as_float32() -> None:
    torch.manual_seed(0)
    model = BertForMaskedLM(preset_config("seed-demo", vocab_size=100, max_len=16)).eval()
    assert cast_for_inference(model, "fp32").bert.embeddings.word_embeddings.weight.dtype == torch.float32
    assert cast_for_inference(model, "bf16") is model
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    with torch.inference_mode():
        out = model(torch.arange(1, 9)[None], output_attentions=True)
    assert out.attentions[0].float().sum(-1).allclose(torch.ones(1, 1, 8), atol=1e-2)  # rows still sum to 1
