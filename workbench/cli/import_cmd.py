"""`import DIR [--name N]`: a Hugging Face masked-LM folder (BERT, RoBERTa / XLM-R, DistilBERT) as a run."""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import print_json, stdout
from workbench.core.hf_import import FAMILIES
from workbench.jobs.interop import import_model


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("import", help="import a Hugging Face masked-LM folder as a run of kind imported",
                                 description=f"Supported architectures: {', '.join(FAMILIES)}.")
    parser.add_argument("folder", metavar="DIR", help="a folder with config.json, the weights (model.safetensors, "
                        "sharded safetensors with an index, or pytorch_model.bin) and the tokenizer files")
    parser.add_argument("--name", metavar="N", help="the run's name (default: the folder's name)")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run = import_model(ws, args.folder, args.name)
        checkpoints = ws.store.checkpoints(run.id)
    if args.json:
        print_json({**run.to_dict(), "checkpoints": [c.to_dict() for c in checkpoints]})
        return 0
    model = run.config["model"]
    stdout.print(f"imported {run.config['architecture']} as run {run.name!r} (id {run.id}): "
                 f"{model['num_hidden_layers']} layers, hidden {model['hidden_size']}, vocabulary "
                 f"{model['vocab_size']}; sha256 {run.config['sha256'][:12]}")
    return 0
