"""Our masked LM and task models as ONNX files: export, metadata, int8 quantization, a check against torch.

The graph's inputs are `input_ids` and `attention_mask` (B, T), plus `token_type_ids` when the model tells
segments apart (a one-segment model, such as an imported RoBERTa or DistilBERT, reads every token as segment 0,
so the input would be ignored); batch and sequence axes are dynamic, the sequence up to the model's maximum
length. Outputs: `logits` ((B, T, V) for the masked LM, (B, K) classify, (B, T, K) tag), or `start_logits` and
`end_logits` (B, T) for QA. onnx, onnxruntime and onnxscript are imported only here and only when called, so the
app runs without them; `require_onnx` names what to install.

The exporter is torch.export's (`dynamo=True`). The TorchScript tracer (`dynamo=False`) freezes Python branches
on tensor values at their traced outcome: our encoder drops the attention mask when a batch has no padding,
and a trace taken on either kind of batch then gives wrong logits on the other (0.1-0.2 measured); torch.export
keeps that branch out of the graph (`torch.compiler.is_compiling()`) and tracks the sequence length
symbolically, and the file agrees with torch to ~1e-7 on a tiny model. It lowers SDPA to MatMul/Softmax (exact;
the training path is untouched).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from workbench.core.finetune.heads import BertForQuestionAnswering
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.encoding import ProbeInputError, encode_text, mask_positions
from workbench.core.tokenization import WorkbenchTokenizer

INSTALL_HINT = "pip install onnx onnxruntime onnxscript"
MAX_LOGIT_DIFFERENCE = 1e-3  # float32 sums in another order drift ~1e-5 at BERT-base size; a wrong graph is ~1e-1
EXAMPLE_LENGTH = 8  # the traced example's length (any length over 1: torch.export specialises sizes 0 and 1)


class OnnxExportError(ValueError):
    """An export that cannot be made or did not check out; the message says why."""


def require_onnx() -> None:
    """Raise OnnxExportError naming the pip command when a package the export needs is missing."""
    import importlib.util

    missing = [name for name in ("onnx", "onnxruntime", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise OnnxExportError(f"ONNX export needs {', '.join(missing)}: {install_hint()}")


def install_hint() -> str:
    """What to do without the ONNX packages: pip can add them to an install, not to the packaged app."""
    if getattr(sys, "frozen", False):  # PyInstaller's app (packaging/): its folder is not a Python environment
        return ("the packaged app leaves them out; export with --format hf (Hugging Face), or install the workbench "
                f"with pip and then `{INSTALL_HINT}`")
    return INSTALL_HINT


class OnnxGraph(nn.Module):
    """The model with plain tensor inputs and outputs, as the ONNX graph sees it."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.qa = isinstance(model, BertForQuestionAnswering)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(input_ids, attention_mask, token_type_ids).logits
        if self.qa:
            return logits[..., 0], logits[..., 1]  # (B, T) each
        return logits


def input_names(model: nn.Module) -> list[str]:
    segments = model.config.type_vocab_size > 1
    return ["input_ids", "attention_mask", *(["token_type_ids"] if segments else [])]


def output_names(model: nn.Module) -> list[str]:
    return ["start_logits", "end_logits"] if OnnxGraph(model).qa else ["logits"]


def model_inputs(model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                 token_type_ids: torch.Tensor | None = None) -> dict[str, np.ndarray]:
    """The feed of the model's graph for a batch (B, T): int64 arrays by input name (segment 0 by default)."""
    segments = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
    arrays = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": segments}
    return {name: arrays[name].cpu().numpy().astype(np.int64) for name in input_names(model)}


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the exporter's progress prints, warnings and log lines (torchvision missing, axis names) and
    the quantizer's hint: an export prints only its report."""
    loggers = [logging.getLogger(), logging.getLogger("torch.onnx")]
    levels = [logger.level for logger in loggers]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


def export_model(model: nn.Module, path: Path, metadata: dict[str, str]) -> int:
    """Write the eval-mode model to `path` (one file, weights inside) with `metadata`; returns the opset."""
    require_onnx()
    import onnx

    model = model.eval()
    names = input_names(model)
    batch = torch.export.Dim("batch", min=1)
    sequence = torch.export.Dim("sequence", min=1, max=model.config.max_length)
    example = torch.full((2, min(EXAMPLE_LENGTH, model.config.max_length)), model.config.pad_token_id + 1)
    args = (example, torch.ones_like(example), torch.zeros_like(example))[:len(names)]
    # external_data=False: one file, usable alone (protobuf caps it at 2 GB, over BERT-large's 1.3 GB)
    with _quiet():
        torch.onnx.export(OnnxGraph(model), args, str(path), input_names=names, output_names=output_names(model),
                          dynamic_shapes={name: {0: batch, 1: sequence} for name in names}, dynamo=True,
                          external_data=False)
    proto = onnx.load(str(path))
    opset = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    onnx.helper.set_model_props(proto, {**metadata, "opset": str(opset)})
    onnx.save(proto, str(path))
    return opset


def quantize_int8(source: Path, target: Path) -> None:
    """Dynamic int8 quantization by onnxruntime: QInt8 weights, activations quantized at run time."""
    require_onnx()
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with _quiet():  # it logs a hint to pre-process the graph, which dynamic quantization does not need
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8)


def session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime CPU session on the file; `threads` caps its intra-op threads (default: onnxruntime's)."""
    require_onnx()
    import onnxruntime

    options = onnxruntime.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def torch_outputs(model: nn.Module, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    """What the graph computes, in torch, for the same feed."""
    tensors = {name: torch.from_numpy(array) for name, array in feed.items()}
    with torch.no_grad():
        outputs = OnnxGraph(model.eval())(**tensors)
    return [t.numpy() for t in (outputs if isinstance(outputs, tuple) else (outputs,))]


def random_batch(model: nn.Module, length: int, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded random ids (B, T) with padding in every row after the first (its last third padded)."""
    generator = torch.Generator().manual_seed(seed + length)
    pad = model.config.pad_token_id
    input_ids = torch.randint(0, model.config.vocab_size, (batch, length), generator=generator)
    input_ids[input_ids == pad] = (pad + 1) % model.config.vocab_size
    attention_mask = torch.ones_like(input_ids)
    keep = max(1, length - length // 3)
    attention_mask[1:, keep:] = 0
    input_ids[attention_mask == 0] = pad
    return input_ids, attention_mask


def max_difference(model: nn.Module, onnx_session: Any, lengths: Iterable[int], batch: int = 2) -> float:
    """The largest |ONNX - torch| over every output, on padded random batches at each length."""
    worst = 0.0
    for length in lengths:
        feed = model_inputs(model, *random_batch(model, length, batch))
        for expected, got in zip(torch_outputs(model, feed), onnx_session.run(None, feed)):
            worst = max(worst, float(np.abs(expected - got).max()))
    return worst


def verification_lengths(model: nn.Module) -> tuple[int, int]:
    """Two lengths to check an export at: a short one and 128 (or the model's maximum, if shorter)."""
    longest = model.config.max_length
    return min(7, longest), min(128, longest)


def verify(model: nn.Module, path: Path) -> tuple[float, tuple[int, int]]:
    """Run the file through onnxruntime at two lengths and compare with torch; raises if they disagree."""
    lengths = verification_lengths(model)
    difference = max_difference(model, session(path), lengths)
    if not difference <= MAX_LOGIT_DIFFERENCE:  # NaN fails too
        raise OnnxExportError(f"the ONNX file disagrees with torch: max logit difference {difference:.3g} at lengths "
                              f"{lengths[0]} and {lengths[1]} (allowed {MAX_LOGIT_DIFFERENCE:g})")
    return difference, lengths


@dataclass(frozen=True)
class Agreement:
    """How often two models' argmax predictions agree: `agree` of `n`, on what (`on`)."""

    agree: int
    n: int
    on: str

    @property
    def fraction(self) -> float:
        return self.agree / self.n if self.n else math.nan


def fill_mask_feeds(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentences: Sequence[str],
                    batch_size: int = 32) -> list[tuple[dict[str, np.ndarray], np.ndarray]]:
    """Padded batches of the sentences that encode to exactly one mask within the model's length, each with the
    row-major index of its mask position in a (B * T) flattening."""
    encoded = []
    for sentence in sentences:
        try:
            ids = encode_text(tokenizer, sentence, model.config.max_length)
        except ProbeInputError:
            continue
        if len(mask_positions(ids, tokenizer.mask_id)) == 1:
            encoded.append(ids)
    batches = []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        width = max(len(ids) for ids in chunk)
        input_ids = torch.full((len(chunk), width), tokenizer.pad_id, dtype=torch.long)
        for row, ids in enumerate(chunk):
            input_ids[row, :len(ids)] = torch.tensor(ids)
        attention_mask = (torch.arange(width)[None, :] < torch.tensor([len(i) for i in chunk])[:, None]).long()
        masks = torch.nonzero((input_ids == tokenizer.mask_id).flatten()).flatten().numpy()
        batches.append((model_inputs(model, input_ids, attention_mask), masks))
    return batches


def fill_mask_agreement(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentences: Sequence[str],
                        reference: Any, candidate: Any, on: str) -> Agreement:
    """Top-1 fill-mask agreement of two ONNX sessions at each sentence's mask, special tokens excluded (as probing
    ranks them)."""
    agree = n = 0
    for feed, masks in fill_mask_feeds(model, tokenizer, sentences):
        tops = []
        for onnx_session in (reference, candidate):
            logits = onnx_session.run(["logits"], feed)[0]  # (B, T, V)
            at_masks = logits.reshape(-1, logits.shape[-1])[masks].copy()  # (B, V)
            at_masks[:, tokenizer.special_ids] = -np.inf
            tops.append(at_masks.argmax(-1))
        agree += int((tops[0] == tops[1]).sum())
        n += len(masks)
    return Agreement(agree, n, on)


def prediction_agreement(batches: Iterable[dict[str, np.ndarray]], reference: Any, candidate: Any,
                         on: str) -> Agreement:
    """Argmax agreement of two task-model sessions over padded batches: one prediction per example (classify),
    per real token (tag), or per start and per end (QA; padding left out)."""
    agree = n = 0
    for feed in batches:
        real = feed["attention_mask"].astype(bool)  # (B, T)
        for expected, got in zip(reference.run(None, feed), candidate.run(None, feed)):
            same = expected.argmax(-1) == got.argmax(-1)  # (B,) or (B, T)
            if expected.ndim == 3:
                same = same[real]
            agree += int(same.sum())
            n += same.size
    return Agreement(agree, n, on)
