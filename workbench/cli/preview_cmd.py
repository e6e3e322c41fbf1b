"""`mask-preview "TEXT"`: the corrupted sequence a model would see, coloured by replacement, with its labels."""

from __future__ import annotations

import argparse

from rich.text import Text

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.masking_args import add_masking_args, masking_config_from_args
from workbench.cli.output import print_json, stdout
from workbench.core.mask_preview import MaskPreview, preview_masking
from workbench.jobs.corpora import get_corpus
from workbench.jobs.tokenizers import load_tokenizer, tokenizer_for_run

STYLES = {"mask": "bold white on red", "random": "bold black on yellow", "kept": "bold black on green"}


def register(commands: argparse._SubParsersAction) -> None:
    preview = commands.add_parser("mask-preview", help="show how masking corrupts a text")
    preview.add_argument("text", metavar="TEXT")
    preview.add_argument("--tokenizer", type=int, metavar="ID",
                         help="tokenizer id (default: the sample corpus' latest, trained if needed)")
    add_masking_args(preview)
    preview.add_argument("--seed", type=int, default=0, help="draw another mask with another seed (default: 0)")
    add_json_flag(preview)
    preview.set_defaults(handler=cmd_mask_preview)


def cmd_mask_preview(args: argparse.Namespace) -> int:
    config = masking_config_from_args(args, seed=args.seed)
    with open_workspace(args) as ws:
        record = tokenizer_for_run(ws, get_corpus(ws, None), args.tokenizer)
    tokenizer = load_tokenizer(record)
    preview = preview_masking(tokenizer, args.text, config)
    if args.json:
        print_json(preview.to_dict())
    else:
        _print_preview(preview)
    return 0


def _print_preview(preview: MaskPreview) -> None:
    line = Text()
    for token, kind in zip(preview.corrupted_tokens, preview.replacements):
        line.append(token, style=STYLES.get(kind, ""))
        line.append(" ")
    stdout.print(line)
    chosen = [(i, preview.tokens[i], kind, preview.corrupted_tokens[i])
              for i, kind in enumerate(preview.replacements) if kind is not None]
    legend = Text("  ".join(f"{k}" for k in STYLES))
    stdout.print(f"{len(chosen)} of {len(preview.tokens) - 2} tokens selected; legend: ", legend, sep="")
    for position, original, kind, shown in chosen:
        stdout.print(f"  position {position:>3}: label {original!r:<14} shown as {shown!r} ({kind})")
