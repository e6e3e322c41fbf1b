"""`probe`, `score`, `attention`, `probe-suite`: ask a run's checkpoint what it has learned (`probe --by-layer`,
`--ablate` and `rank-heads`: `probe_depth_cmd`).

Each command loads the run's latest checkpoint (or `--checkpoint STEP`) and its tokenizer. `probe` lists the
top-k tokens at every [MASK]; `score` ranks sentences by pseudo-log-likelihood; `attention` prints (or writes as
CSV) one attention map; `probe-suite` scores a LAMA-style cloze suite and records the result in the database.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import fmt, print_json, print_table, stderr, stdout
from workbench.cli.probe_depth_cmd import (
    add_ablation_args,
    add_lens_args,
    add_model_args,
    cmd_by_layer,
    head_mask_from,
    load_probe_model_for,
    print_fill_ablation,
    print_score_ablation,
    source_of,
)
from workbench.core.probing import (
    PLL_METHODS,
    attention_maps,
    score_sentences,
    write_matrix_csv,
)
from workbench.core.probing.attention import HEAD_MODES
from workbench.core.probing.suites import DEFAULT_TOP_K
from workbench.jobs.probe import run_probe_suite


def register(commands: argparse._SubParsersAction) -> None:
    probe = commands.add_parser("probe", help="fill-mask: the model's top-k tokens at each [MASK] of a text")
    probe.add_argument("run", metavar="RUN", help="run id or name")
    probe.add_argument("text", metavar="TEXT", help='a text with one or more [MASK], e.g. "the cow says [MASK]."')
    add_model_args(probe)
    probe.add_argument("--top-k", type=int, default=5, metavar="K", help="predictions per mask (default: 5)")
    probe.add_argument("--targets", metavar="W1,W2", help="list only these words (a word of several pieces: its first)")
    probe.add_argument("--in-order", action="store_true",
                       help="fill the most confident mask first, predict the others again, and so on")
    add_lens_args(probe)
    add_ablation_args(probe)
    add_json_flag(probe)
    probe.set_defaults(handler=cmd_probe)

    score = commands.add_parser("score", help="rank sentences by pseudo-log-likelihood (PLL) and pseudo-perplexity")
    score.add_argument("run", metavar="RUN", help="run id or name")
    score.add_argument("sentences", metavar="SENTENCE", nargs="+")
    add_model_args(score)
    score.add_argument("--method", choices=PLL_METHODS, default="original",
                       help="original: mask one piece at a time; word-l2r: also mask the later pieces of its word")
    add_ablation_args(score)
    add_json_flag(score)
    score.set_defaults(handler=cmd_score)

    attention = commands.add_parser("attention", help="one attention map of a text: a head, the mean, or rollout")
    attention.add_argument("run", metavar="RUN", help="run id or name")
    attention.add_argument("text", metavar="TEXT")
    add_model_args(attention)
    attention.add_argument("--layer", type=int, metavar="L", help="layer, 0 first, -1 last (default: last)")
    attention.add_argument("--head", type=_head, default="mean", metavar="H",
                           help="head number (0 first), mean (over heads) or rollout (up to --layer); default: mean")
    attention.add_argument("--hide-special", action="store_true",
                           help="drop [CLS]/[SEP]/... rows and columns and renormalise the rest of each row")
    attention.add_argument("--csv", metavar="FILE", help="write the matrix as CSV (- for stdout)")
    add_json_flag(attention)
    attention.set_defaults(handler=cmd_attention)

    suite = commands.add_parser("probe-suite", help="score a cloze suite (precision@1, @k, MRR) and record it")
    suite.add_argument("run", metavar="RUN", help="run id or name")
    suite.add_argument("file", metavar="FILE", nargs="?",
                       help="TSV (sentence, answers joined by |, group) or JSONL; default: the bundled cloze suite")
    which = suite.add_mutually_exclusive_group()
    which.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the latest)")
    which.add_argument("--all-checkpoints", action="store_true", help="every checkpoint, oldest first")
    suite.add_argument("--top-k", type=int, default=DEFAULT_TOP_K, metavar="K",
                       help=f"k of precision@k (default: {DEFAULT_TOP_K})")
    suite.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N or mps")
    add_json_flag(suite)
    suite.set_defaults(handler=cmd_probe_suite)


def _head(value: str) -> int | str:
    if value in HEAD_MODES:
        return value
    if value.isdigit():
        return int(value)
    raise argparse.ArgumentTypeError(f"must be a head number, {' or '.join(HEAD_MODES)}; got {value!r}")


def _print_notes(notes: list[str], at_most: int = 3) -> None:
    for note in notes[:at_most]:
        stderr.print(f"note: {note}")
    if len(notes) > at_most:
        stderr.print(f"note: ... and {len(notes) - at_most} more like these (--json lists them all)")


def cmd_probe(args: argparse.Namespace) -> int:
    if args.by_layer:
        return cmd_by_layer(args)
    if args.answers or args.all_checkpoints:
        raise ValueError("--answers and --all-checkpoints go with --by-layer")
    probe = load_probe_model_for(args)
    head_mask = head_mask_from(args, probe)
    if head_mask is not None and not args.in_order:
        return print_fill_ablation(args, probe, head_mask)
    targets = args.targets.split(",") if args.targets is not None else None
    result = probe.fill(args.text, args.top_k, targets, args.in_order, head_mask)
    if args.json:
        print_json({**source_of(probe), **result.to_dict()})
        return 0
    _print_notes(result.notes)
    stdout.print(f"{probe.describe()}: {' '.join(result.tokens)}")
    if args.in_order:
        rows = [(n, s.position, s.chosen.token, fmt(s.chosen.probability),
                 ", ".join(p.token for p in s.candidates[1:])) for n, s in enumerate(result.steps, start=1)]
        print_table("Filled in order of confidence", ("order", "position", "token", "probability", "runners-up"), rows)
        stdout.print(f"filled: {result.text}")
        return 0
    for mask in result.masks:
        rows = [(rank, p.token, fmt(p.probability)) for rank, p in enumerate(mask.predictions, start=1)]
        print_table(f"[MASK] at position {mask.position}", ("rank", "token", "probability"), rows)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    probe = load_probe_model_for(args)
    head_mask = head_mask_from(args, probe)
    if head_mask is not None:
        return print_score_ablation(args, probe, head_mask)
    scores = score_sentences(probe.model, probe.tokenizer, args.sentences, args.method)
    if args.json:
        print_json({**source_of(probe), "method": args.method, "sentences": [s.to_dict() for s in scores]})
        return 0
    rows = [(s.rank, fmt(s.pll, 3), fmt(s.pseudo_perplexity, 2), len(s.tokens), s.sentence) for s in scores]
    print_table(f"Pseudo-log-likelihood ({args.method}), {probe.describe()}",
                ("rank", "PLL", "pseudo-perplexity", "tokens", "sentence"), rows)
    if len(scores) == 1:
        print_table("Per token", ("position", "token", "log p"),
                    [(t.position, t.token, fmt(t.log_prob, 3)) for t in scores[0].tokens])
    return 0


def cmd_attention(args: argparse.Namespace) -> int:
    probe = load_probe_model_for(args)
    maps = attention_maps(probe.model, probe.tokenizer, args.text)
    layer = maps.num_layers - 1 if args.layer is None else args.layer
    layer = layer + maps.num_layers if layer < 0 else layer
    matrix = maps.matrix(layer, args.head, hide_special=args.hide_special)
    if args.csv is not None:
        if args.csv == "-":
            write_matrix_csv(matrix, sys.stdout)
            return 0
        with open(Path(args.csv), "w", newline="", encoding="utf-8") as out:
            write_matrix_csv(matrix, out)
    if args.json:
        print_json({**source_of(probe), "layer": layer, "head": args.head, "hide_special": args.hide_special,
                    **matrix.to_dict()})
    elif args.csv is None:
        rows = [(label, *(f"{v:.2f}" for v in row)) for label, row in zip(matrix.labels, matrix.values.tolist())]
        print_table(f"Attention, layer {layer}, head {args.head}, {probe.describe()} (row: query, column: key)",
                    ("query \\ key", *matrix.tokens), rows)
    else:
        stdout.print(f"wrote a {len(matrix.tokens)}x{len(matrix.tokens)} attention matrix to {args.csv}")
    return 0


def cmd_probe_suite(args: argparse.Namespace) -> int:
    report = None if args.json else (lambda done, total: stderr.print(f"checkpoint {done}/{total} evaluated"))
    with open_workspace(args) as ws:
        results = run_probe_suite(ws, args.run, args.file, step=args.checkpoint, all_checkpoints=args.all_checkpoints,
                                  top_k=args.top_k, device=args.device, progress=report)
    if args.json:
        print_json([{"result_id": record.id, "run_id": record.run_id, "step": record.checkpoint_step,
                     **result.to_dict()} for record, result in results])
        return 0
    _print_notes(results[0][1].notes)
    k = args.top_k
    rows = [(record.checkpoint_step, *_metric_cells(result.metrics["overall"])) for record, result in results]
    print_table(f"Probe suite {results[0][1].suite_name!r} on run {args.run}",
                ("step", "items", "precision@1", f"precision@{k}", "MRR"), rows)
    if len(results) == 1:
        groups = results[0][1].metrics["groups"]
        print_table("Per group", ("group", "items", "precision@1", f"precision@{k}", "MRR"),
                    [(name, *_metric_cells(values)) for name, values in groups.items()])
    return 0


def _metric_cells(values: dict) -> tuple:
    return values["n"], fmt(values["precision_at_1"], 3), fmt(values["precision_at_k"], 3), fmt(values["mrr"], 3)
