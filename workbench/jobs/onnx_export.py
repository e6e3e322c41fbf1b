"""A run's checkpoint as an ONNX folder: `model.onnx` (fp32), optionally `model.int8.onnx`, the tokenizer and a
report, checked before it is called done.

Pretraining and imported runs export their masked LM (loaded as probing loads it), fine-tuning runs their task
model (loaded as `predict` loads it). The fp32 file goes through onnxruntime at two lengths against torch; the
int8 file's top-1 agreement with the fp32 file is measured on the bundled cloze suite (masked LM) or on the
run's validation data (fine-tuned). Everything is written into a hidden folder beside `out_dir` and renamed into
place at the end, so a failed or refused export leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch import nn

from workbench import __version__
from workbench.core import onnx_export as ox
from workbench.core.finetune.encoding import collate
from workbench.core.probing.suites import load_suite
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.errors import UserError
from workbench.jobs.finetune import finetuned_checkpoint, load_finetuned, validation_examples
from workbench.jobs.pretrain import get_run
from workbench.jobs.probe import MASKED_LM_KINDS, default_suite_path, load_probe_model
from workbench.jobs.workspace import Workspace

MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
REPORT_FILE = "export.json"
QUANTIZE_CHOICES = ("int8",)


@dataclass
class OnnxExportReport:
    run_name: str
    step: int
    task: str  # "fill-mask", "classify", "tag" or "qa"
    out_dir: str
    opset: int
    inputs: list[str]
    outputs: list[str]
    files: dict[str, int]  # file name -> bytes
    verified_lengths: tuple[int, int]
    max_logit_difference: float  # fp32 ONNX against torch, over both lengths
    int8_agreement: float | None = None  # fraction of equal argmax predictions, int8 against fp32
    int8_agreement_n: int = 0
    int8_agreement_on: str = ""

    def lines(self) -> list[str]:
        """What a front end prints: the files, the verification and the int8 agreement."""
        lines = [f"exported run {self.run_name!r} at step {self.step} ({self.task}) to {self.out_dir} "
                 f"(ONNX opset {self.opset}; inputs {', '.join(self.inputs)}; outputs {', '.join(self.outputs)})"]
        lines += [f"  {name}: {size:,} bytes ({size / 1e6:.1f} MB)" for name, size in self.files.items()]
        lines.append(f"verified: max logit difference {self.max_logit_difference:.1g} at lengths "
                     f"{self.verified_lengths[0]} and {self.verified_lengths[1]}")
        if self.int8_agreement is not None:
            lines.append(f"int8: top-1 agreement with fp32 {self.int8_agreement:.1%} "
                         f"({round(self.int8_agreement * self.int8_agreement_n)}/{self.int8_agreement_n}) "
                         f"on {self.int8_agreement_on}")
        elif self.int8_agreement_on:
            lines.append(f"int8: agreement not measured: {self.int8_agreement_on}")
        return lines


@dataclass
class _Source:
    model: nn.Module
    tokenizer: WorkbenchTokenizer
    run_name: str
    step: int
    labels: list[str]
    run_id: int
    task: Any = None  # a fine-tuning run's task (ClassifyTask, TagTask, QATask); None for a masked LM

    @property
    def task_name(self) -> str:
        return "fill-mask" if self.task is None else self.task.name


def _load(ws: Workspace, run_ref: str | int, step: int | None) -> _Source:
    run = get_run(ws, run_ref)
    if run.kind in MASKED_LM_KINDS:
        probe = load_probe_model(ws, run.id, step, "cpu", cache=None)
        return _Source(probe.model, probe.tokenizer, run.name, probe.step, [], run.id)
    if run.kind != "finetune":
        raise UserError(f"run {run.name!r} is a {run.kind} run; export takes a pretraining, imported or fine-tuning "
                        f"run")
    path = finetuned_checkpoint(ws, run, step)
    chosen = next(c.step for c in ws.store.checkpoints(run.id) if Path(c.path) == path)
    task, model, tokenizer = load_finetuned(ws, run.id, chosen)
    return _Source(model, tokenizer, run.name, chosen, list(run.config.get("labels", [])), run.id, task)


def _target(out_dir: str | Path) -> Path:
    target = Path(out_dir).expanduser().resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UserError(f"{target} already exists and is not an empty folder; choose a new --out")
    return target


def _int8_agreement(ws: Workspace, source: _Source, fp32: Path, int8: Path) -> ox.Agreement:
    reference, candidate = ox.session(fp32), ox.session(int8)
    if source.task is None:
        suite = load_suite(default_suite_path(ws))
        sentences = [item.sentence for item in suite.items]
        return ox.fill_mask_agreement(source.model, source.tokenizer, sentences, reference, candidate,
                                      f"the bundled cloze suite {suite.name!r}")
    examples = validation_examples(ws, source.run_id)
    features = source.task.encode(source.tokenizer, examples)
    batches = [collate(features[i:i + 32], source.tokenizer.pad_id) for i in range(0, len(features), 32)]
    feeds = [ox.model_inputs(source.model, b["input_ids"], b["attention_mask"], b["token_type_ids"]) for b in batches]
    return ox.prediction_agreement(feeds, reference, candidate, f"the run's {len(examples)} validation examples")


def _write(ws: Workspace, source: _Source, folder: Path, quantize: str | None) -> OnnxExportReport:
    model = source.model
    metadata = {"workbench_version": __version__, "run": source.run_name, "step": str(source.step),
                "task": source.task_name, "labels": json.dumps(source.labels),
                "max_length": str(model.config.max_length), "model_config": json.dumps(model.config.to_dict())}
    opset = ox.export_model(model, folder / MODEL_FILE, metadata)
    difference, lengths = ox.verify(model, folder / MODEL_FILE)
    source.tokenizer.save(folder)
    report = OnnxExportReport(source.run_name, source.step, source.task_name, "", opset, ox.input_names(model),
                              ox.output_names(model), {}, lengths, difference)
    if quantize == "int8":
        ox.quantize_int8(folder / MODEL_FILE, folder / INT8_FILE)
        try:
            agreement = _int8_agreement(ws, source, folder / MODEL_FILE, folder / INT8_FILE)
        except UserError as error:  # the run's data files moved: the export stands, the figure is missing
            report.int8_agreement_on = str(error)
        else:
            report.int8_agreement = agreement.fraction if agreement.n else None
            report.int8_agreement_n = agreement.n
            report.int8_agreement_on = agreement.on if agreement.n else f"nothing in {agreement.on} fits the model"
    report.files = {p.name: p.stat().st_size for p in sorted(folder.iterdir())}
    return report


def export_onnx(ws: Workspace, run_ref: str | int, step: int | None, out_dir: str | Path,
                quantize: str | None = None) -> OnnxExportReport:
    """Export run `run_ref`'s checkpoint at `step` (None: the latest; a fine-tuning run's best epoch) into the new
    or empty folder `out_dir`, with an int8 copy when `quantize` is "int8"; verified before it returns."""
    if quantize not in (None, *QUANTIZE_CHOICES):
        raise UserError(f"--quantize takes {', '.join(QUANTIZE_CHOICES)}; got {quantize!r}")
    try:
        ox.require_onnx()
    except ox.OnnxExportError as error:
        raise UserError(str(error)) from None
    target = _target(out_dir)
    source = _load(ws, run_ref, step)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        report = _write(ws, source, staging, quantize)
        report.out_dir = str(target)
        (staging / REPORT_FILE).write_text(json.dumps(asdict(report), indent=2), encoding="utf-8")
        if target.exists():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except ox.OnnxExportError as error:
        raise UserError(str(error)) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return report
