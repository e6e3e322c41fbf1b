"""`export RUN[:STEP] --format hf --out DIR`: a run's checkpoint in another ecosystem's layout, checked before it
is called done ("verified: max logit difference 3e-7"). Each format is one entry of `FORMATS`: a job taking
(workspace, run, step or None, out folder) and returning an `ExportReport`."""

from __future__ import annotations

import argparse
from typing import Callable

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import print_json, stdout
from workbench.jobs.export import ExportReport, export_hf
from workbench.jobs.pretrain import split_step
from workbench.jobs.workspace import Workspace

Exporter = Callable[[Workspace, str, int | None, str], ExportReport]
FORMATS: dict[str, Exporter] = {"hf": export_hf}
FORMAT_HELP = {"hf": "a Hugging Face folder (config.json, model.safetensors, tokenizer files, README.md model card) "
                     "that transformers loads: Bert/Roberta/DistilBertForMaskedLM, or a fine-tuned run's "
                     "...ForSequenceClassification, ...ForTokenClassification or ...ForQuestionAnswering"}


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("export", help="export a run's checkpoint (a Hugging Face folder), verified",
                                 description="; ".join(f"{name}: {text}" for name, text in FORMAT_HELP.items()))
    parser.add_argument("run", metavar="RUN[:STEP]", help="a run's name or id; :STEP picks a checkpoint (default: "
                        "the latest; a fine-tuning run's best epoch)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="hf", help="what to write (default: hf)")
    parser.add_argument("--out", required=True, metavar="DIR", help="the folder to write; it must not exist or be "
                        "empty")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run, step = split_step(ws, args.run)
        report = FORMATS[args.format](ws, run, step, args.out)
    if args.json:
        print_json(report.to_dict())
        return 0
    lines = [f"exported run {report.run_name!r} at step {report.step} as {report.architecture} to {report.out_dir}",
             *[f"  {name:<26} {size:>14,} bytes" for name, size in report.files.items()],
             f"{report.verified_text}; the tokenizer gave identical ids on {report.tokenizer_texts} texts",
             *[f"note: {note}" for note in report.notes]]
    for line in lines:
        stdout.print(line, markup=False)
    return 0
