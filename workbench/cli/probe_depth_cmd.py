"""Deeper probing in the CLI: `probe --by-layer` (the MLM head after every layer, on one checkpoint or with
`--all-checkpoints` over all of them), `probe/score --ablate L.H,... --ablation zero|mean` (heads switched off,
beside the intact model) and `rank-heads` (each head off in turn, sorted by the drop it causes).
"""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import fmt, print_json, print_table, stderr, stdout
from workbench.cli.settings_args import add_settings, settings_from_args
from workbench.core.modeling_bert import HeadMask
from workbench.core.probing import score_sentences
from workbench.core.probing.ablation import (
    ABLATION_MODES,
    HeadRanking,
    compare_fill,
    format_heads,
    head_mask_for,
    parse_heads,
    rank_heads,
    rank_heads_on_suite,
)
from workbench.core.probing.lens import LensResult, depth_label, layer_lens
from workbench.core.probing.suites import load_suite
from workbench.jobs.probe import ProbeModel, load_probe_model
from workbench.jobs.probe_lens import lens_over_checkpoints
from workbench.settings.probe import ProbeConfig

DEFAULT_SHOWN_HEADS = 12


def add_ablation_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ablate", metavar="L.H,...", default="",
                        help="switch these heads off (LAYER.HEAD, 0-based, e.g. 3.5,4.1) and show the change")
    parser.add_argument("--ablation", choices=ABLATION_MODES, default="zero",
                        help="zero: the head's output is zero (default); mean: its mean over the sentence's tokens")


def add_lens_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--by-layer", action="store_true",
                        help="apply the MLM head after every layer: the top-k and the answer's rank, layer by layer")
    parser.add_argument("--answers", metavar="W1,W2",
                        help="with --by-layer: the right word at each mask (one for all); default: the final top-1")
    parser.add_argument("--all-checkpoints", action="store_true",
                        help="with --by-layer: every checkpoint of the run, oldest first (the answer's rank per "
                             "step and layer)")


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--checkpoint, --device and the probing settings (--precision): which model, where, in what format."""
    parser.add_argument("--checkpoint", type=int, metavar="STEP", help="checkpoint step (default: the latest)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N or mps")
    add_settings(parser, ProbeConfig)


def head_mask_from(args: argparse.Namespace, probe: ProbeModel) -> HeadMask | None:
    return head_mask_for(probe.model, parse_heads(args.ablate), args.ablation)


def _answers(args: argparse.Namespace) -> list[str] | None:
    return [a for a in args.answers.split(",") if a.strip()] if args.answers else None


def ablation_json(args: argparse.Namespace) -> dict:
    return {"heads": format_heads(parse_heads(args.ablate)), "mode": args.ablation}


# ---- probe --by-layer -------------------------------------------------------------------------------------------

def source_of(probe: ProbeModel) -> dict:
    return {"run_id": probe.run_id, "run": probe.run_name, "step": probe.step, "precision": probe.precision}


def cmd_by_layer(args: argparse.Namespace) -> int:
    """`probe --by-layer`: one checkpoint's lens, or (--all-checkpoints) the answer's rank per step and depth."""
    if args.all_checkpoints:
        with open_workspace(args) as ws:
            lenses = lens_over_checkpoints(ws, args.run, args.text, _answers(args), args.top_k, args.device,
                                           precision=_precision(args))
        return _print_over_checkpoints(args, lenses)
    probe = load_probe_model_for(args)
    head_mask = head_mask_from(args, probe)
    lens = layer_lens(probe.model, probe.tokenizer, args.text, args.top_k, _answers(args), head_mask)
    if args.json:
        print_json({**source_of(probe), "ablation": ablation_json(args) if head_mask else None, **lens.to_dict()})
        return 0
    _notes(lens.notes)
    stdout.print(f"{probe.describe()}: {' '.join(lens.tokens)}")
    for mask in lens.masks:
        rows = [(depth_label(r.depth), r.answer_rank, fmt(r.answer_probability),
                 ", ".join(f"{p.token} {p.probability:.2f}" for p in r.predictions)) for r in mask.layers]
        settles = "never" if mask.settles_at is None else depth_label(mask.settles_at)
        print_table(f"[MASK] at position {mask.position}: answer {mask.answer!r} ({mask.answer_source}), "
                    f"first and stays first from: {settles}", ("depth", "answer rank", "answer p", "top-k"), rows)
    return 0


def _print_over_checkpoints(args: argparse.Namespace, lenses: list[tuple[int, LensResult]]) -> int:
    if args.json:
        print_json([{"step": step, **lens.to_dict()} for step, lens in lenses])
        return 0
    _notes(lenses[-1][1].notes)
    depths = [depth_label(r.depth) for r in lenses[-1][1].masks[0].layers]
    for index, mask in enumerate(lenses[-1][1].masks):
        rows = [(step, *(r.answer_rank for r in lens.masks[index].layers)) for step, lens in lenses]
        print_table(f"Rank of {mask.answer!r} at the [MASK] at position {mask.position}, by step and depth",
                    ("step", *depths), rows)
    return 0


def load_probe_model_for(args: argparse.Namespace) -> ProbeModel:
    """The model of `add_model_args`' flags; a note on stderr says what bf16 means on this device."""
    with open_workspace(args) as ws:
        probe = load_probe_model(ws, args.run, args.checkpoint, args.device, precision=_precision(args))
    if probe.precision_note:
        stderr.print(f"note: {probe.precision_note}")
    return probe


def _precision(args: argparse.Namespace) -> str:
    return settings_from_args(ProbeConfig, args).precision


def _notes(notes: list[str]) -> None:
    for note in notes:
        stderr.print(f"note: {note}")


# ---- probe / score --ablate -------------------------------------------------------------------------------------

def print_fill_ablation(args: argparse.Namespace, probe: ProbeModel, head_mask: HeadMask) -> int:
    """`probe --ablate`: at each mask, the intact and ablated top-k with both probabilities."""
    changes = compare_fill(probe.model, probe.tokenizer, args.text, head_mask, args.top_k)
    heads = format_heads(parse_heads(args.ablate))
    if args.json:
        print_json({**source_of(probe), "ablation": ablation_json(args),
                    "masks": [{"position": c.position, "tokens": [vars(t) for t in c.tokens]} for c in changes]})
        return 0
    for change in changes:
        rows = [(t.token, fmt(t.ablated), fmt(t.intact), f"{t.ablated - t.intact:+.4f}") for t in change.tokens]
        print_table(f"[MASK] at position {change.position}, heads {heads} off ({args.ablation}), {probe.describe()}",
                    ("token", "p ablated", "p intact", "change"), rows)
    return 0


def print_score_ablation(args: argparse.Namespace, probe: ProbeModel, head_mask: HeadMask) -> int:
    """`score --ablate`: each sentence's PLL with and without the heads."""
    intact = {s.sentence: s for s in score_sentences(probe.model, probe.tokenizer, args.sentences, args.method)}
    ablated = score_sentences(probe.model, probe.tokenizer, args.sentences, args.method, head_mask)
    if args.json:
        print_json({**source_of(probe), "method": args.method, "ablation": ablation_json(args),
                    "sentences": [{**s.to_dict(), "intact_pll": intact[s.sentence].pll,
                                   "intact_rank": intact[s.sentence].rank} for s in ablated]})
        return 0
    rows = [(s.rank, intact[s.sentence].rank, fmt(s.pll, 3), fmt(intact[s.sentence].pll, 3),
             f"{s.pll - intact[s.sentence].pll:+.3f}", s.sentence) for s in ablated]
    print_table(f"PLL with heads {format_heads(parse_heads(args.ablate))} off ({args.ablation}), {probe.describe()}",
                ("rank", "intact rank", "PLL", "intact PLL", "change", "sentence"), rows)
    return 0


# ---- rank-heads -------------------------------------------------------------------------------------------------

def register(commands: argparse._SubParsersAction) -> None:
    rank = commands.add_parser("rank-heads", help="switch each attention head off in turn; sort by what it costs")
    rank.add_argument("run", metavar="RUN", help="run id or name")
    rank.add_argument("text", metavar="TEXT", nargs="?",
                      help='a text with [MASK], e.g. "paris is the capital of [MASK]." (or give --suite)')
    rank.add_argument("--suite", metavar="FILE", help="a cloze suite (TSV or JSONL): rank by the drop in precision@1")
    rank.add_argument("--answers", metavar="W1,W2",
                      help="the right word at each mask (one for all); default: the intact model's top-1")
    rank.add_argument("--ablation", choices=ABLATION_MODES, default="zero",
                      help="zero: the head's output is zero (default); mean: its mean over the sentence's tokens")
    rank.add_argument("--top", type=int, default=DEFAULT_SHOWN_HEADS, metavar="N",
                      help=f"heads to list (default: {DEFAULT_SHOWN_HEADS}; --json lists all)")
    add_model_args(rank)
    add_json_flag(rank)
    rank.set_defaults(handler=cmd_rank_heads)


def cmd_rank_heads(args: argparse.Namespace) -> int:
    if (args.text is None) == (args.suite is None):
        raise ValueError("give a TEXT with [MASK] or --suite FILE (one of them)")
    probe = load_probe_model_for(args)
    if args.suite is not None:
        ranking = rank_heads_on_suite(probe.model, probe.tokenizer, load_suite(args.suite), args.ablation)
    else:
        ranking = rank_heads(probe.model, probe.tokenizer, args.text, _answers(args), args.ablation)
    if args.json:
        print_json({**source_of(probe), **ranking.to_dict()})
        return 0
    _print_ranking(ranking, probe, args.top)
    return 0


def _print_ranking(ranking: HeadRanking, probe: ProbeModel, top: int) -> None:
    _notes(ranking.notes)
    what = "log P(answers)" if ranking.metric == "log_prob" else "precision@1"
    answers = f" (answers: {', '.join(ranking.answers)})" if ranking.answers else ""
    rows = [(rank, f"{e.layer}.{e.head}", fmt(e.value), f"{e.drop:+.4f}")
            for rank, e in enumerate(ranking.heads[:top], start=1)]
    print_table(f"Heads by the drop in {what} when switched off ({ranking.mode}), {probe.describe()}; "
                f"intact {fmt(ranking.intact)}{answers}", ("rank", "head", what, "drop"), rows)
    if top < len(ranking.heads):
        stderr.print(f"... {len(ranking.heads) - top} more heads (--top N or --json lists them)")
