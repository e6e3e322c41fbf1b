"""`export RUN[:STEP] --format hf|onnx [--quantize int8] --out DIR`: a run's checkpoint in another ecosystem's
layout, checked before it is called done ("verified: max logit difference 3e-7"); `jobs.export_run` does the work
for this command and for the Runs panel's "Export model…" dialog alike."""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import print_json, stdout
from workbench.jobs.export_run import FORMAT_CHOICES, export_run
from workbench.jobs.onnx_export import QUANTIZE_CHOICES
from workbench.jobs.pretrain import split_step

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
    parser.add_argument("--format", choices=FORMAT_CHOICES, default="hf", help="what to write (default: hf)")
    parser.add_argument("--quantize", choices=QUANTIZE_CHOICES, help="onnx: also write an int8 model")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write; it must not exist or be "
                        "empty")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run, step = split_step(ws, args.run)
        exported = export_run(ws, run, step, args.out, args.format, args.quantize)
    if args.json:
        print_json(exported.data)
        return 0
    for line in exported.lines:
        stdout.print(line, markup=False)
    return 0
