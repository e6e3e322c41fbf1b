"""`score-suite`: score a minimal-pair suite (good sentence, bad sentence, phenomenon; BLiMP's JSONL too) by
pseudo-log-likelihood on one checkpoint or on every checkpoint of a run, and record each result in the database.
A pair counts when the good sentence scores higher; a tie counts as a failure.
"""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import fmt, print_json, print_table, stderr
from workbench.core.probing import PLL_METHODS
from workbench.jobs.pair_suites import run_pair_suite


def register(commands: argparse._SubParsersAction) -> None:
    suite = commands.add_parser("score-suite", help="accuracy on minimal pairs (good vs bad sentence) by PLL, "
                                                    "overall and per phenomenon; recorded per checkpoint")
    suite.add_argument("run", metavar="RUN", help="run id or name")
    suite.add_argument("file", metavar="FILE", nargs="?",
                       help="TSV (good, bad, phenomenon) or BLiMP JSONL (sentence_good, sentence_bad, UID or field); "
                            "default: the bundled sample_minimal_pairs.tsv")
    which = suite.add_mutually_exclusive_group()
    which.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the latest)")
    which.add_argument("--all-checkpoints", action="store_true", help="every checkpoint, oldest first")
    suite.add_argument("--method", choices=PLL_METHODS, default="original",
                       help="original: mask one piece at a time; word-l2r: also mask the later pieces of its word")
    suite.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N or mps")
    add_json_flag(suite)
    suite.set_defaults(handler=cmd_score_suite)


def cmd_score_suite(args: argparse.Namespace) -> int:
    report = None if args.json else (lambda done, total: stderr.print(f"checkpoint {done}/{total} scored"))
    with open_workspace(args) as ws:
        results = run_pair_suite(ws, args.run, args.file, step=args.checkpoint, all_checkpoints=args.all_checkpoints,
                                 method=args.method, device=args.device, progress=report)
    if args.json:
        print_json([{"result_id": record.id, "run_id": record.run_id, "step": record.checkpoint_step,
                     **result.to_dict()} for record, result in results])
        return 0
    columns = ("pairs", "accuracy", "ties", "mean margin (PLL good - bad)")
    rows = [(record.checkpoint_step, *_cells(result.metrics["overall"])) for record, result in results]
    print_table(f"Minimal pairs {results[0][1].suite_name!r} ({args.method}) on run {args.run}", ("step", *columns),
                rows)
    if len(results) == 1:
        groups = results[0][1].metrics["groups"]
        print_table("Per phenomenon", ("phenomenon", *columns), [(n, *_cells(v)) for n, v in groups.items()])
    return 0


def _cells(values: dict) -> tuple:
    return values["n"], fmt(values["accuracy"], 3), values["ties"], fmt(values["mean_margin"], 3)
