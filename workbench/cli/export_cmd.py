"""`export RUN[:STEP] --format hf|onnx [--quantize int8] --out DIR`: a run's checkpoint in another ecosystem's
layout, checked before it is called done ("verified: max logit difference 3e-7"). Each format is one entry of
`FORMATS`: a function of (workspace, run, step or None, arguments) returning what `--json` prints and the lines
the text output prints."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Callable

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import print_json, stdout
from workbench.jobs.errors import UserError
from workbench.jobs.export import export_hf
from workbench.jobs.onnx_export import QUANTIZE_CHOICES, export_onnx
from workbench.jobs.pretrain import split_step
from workbench.jobs.workspace import Workspace

Exported = tuple[dict, list[str]]  # the --json object, the text lines


def _hf(ws: Workspace, run: str, step: int | None, args: argparse.Namespace) -> Exported:
    if args.quantize:
        raise UserError("--quantize applies to --format onnx only")
    report = export_hf(ws, run, step, args.out)
    lines = [f"exported run {report.run_name!r} at step {report.step} as {report.architecture} to {report.out_dir}",
             *[f"  {name:<26} {size:>14,} bytes" for name, size in report.files.items()],
             f"{report.verified_text}; the tokenizer gave identical ids on {report.tokenizer_texts} texts",
             *[f"note: {note}" for note in report.notes]]
    return report.to_dict(), lines


def _onnx(ws: Workspace, run: str, step: int | None, args: argparse.Namespace) -> Exported:
    report = export_onnx(ws, run, step, args.out, args.quantize)
    return dataclasses.asdict(report), report.lines()


FORMATS: dict[str, Callable[[Workspace, str, int | None, argparse.Namespace], Exported]] = {"hf": _hf, "onnx": _onnx}
FORMAT_HELP = {"hf": "a Hugging Face folder (config.json, model.safetensors, tokenizer files, README.md model card) "
                     "that transformers loads: Bert/Roberta/DistilBertForMaskedLM, or a fine-tuned run's "
                     "...ForSequenceClassification, ...ForTokenClassification or ...ForQuestionAnswering",
               "onnx": "model.onnx (dynamic batch and sequence axes, opset recorded) with tokenizer.json and a "
                       "report; --quantize int8 adds model.int8.onnx (onnxruntime dynamic quantization) and its "
                       "agreement with fp32. Needs `pip install onnx onnxruntime onnxscript`"}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("export", help="export a run's checkpoint (Hugging Face folder or ONNX), verified",
                                 description="; ".join(f"{name}: {text}" for name, text in FORMAT_HELP.items()))
    parser.add_argument("run", metavar="RUN[:STEP]", help="a run's name or id; :STEP picks a checkpoint (default: "
                        "the latest; a fine-tuning run's best epoch)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="hf", help="what to write (default: hf)")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, help="onnx: also write an int8 model")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write; it must not exist or be "
                        "empty")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run, step = split_step(ws, args.run)
        data, lines = FORMATS[args.format](ws, run, step, args)
    if args.json:
        print_json(data)
        return 0
    for line in lines:
        stdout.print(line, markup=False)
    return 0
