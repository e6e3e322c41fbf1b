"""Masking options shared by `train` and `mask-preview`, turned into a validated MaskingConfig."""

from __future__ import annotations

import argparse

from workbench.core.masking_config import MaskingConfig
from workbench.jobs.errors import UserError

DEFAULT = MaskingConfig()


def add_masking_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("masking")
    group.add_argument("--mask-rate", type=float, default=DEFAULT.mlm_probability,
                       help=f"share of tokens the model must predict, 0.01-0.8 (default: {DEFAULT.mlm_probability})")
    group.add_argument("--split", default="80,10,10", metavar="M,R,K",
                       help="of the chosen tokens, percent replaced by [MASK], by a random token, kept "
                            "(default: 80,10,10)")
    group.add_argument("--masking", choices=("token", "whole-word", "span"), default=DEFAULT.strategy,
                       help="choose single tokens, whole words, or SpanBERT spans of words (default: token)")
    group.add_argument("--span-p", type=float, default=DEFAULT.span_geometric_p,
                       help=f"geometric p of span lengths in words (default: {DEFAULT.span_geometric_p})")
    group.add_argument("--span-max", type=int, default=DEFAULT.span_max_length,
                       help=f"longest span in words (default: {DEFAULT.span_max_length})")
    group.add_argument("--static-masking", action="store_true",
                       help="a sequence gets the same mask every epoch (default: fresh masks each time)")


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or any(p < 0 for p in parts):
        raise UserError(f"--split takes three non-negative numbers M,R,K such as 80,10,10; got {text!r}")
    total = sum(parts)
    if abs(total - 100) > 1e-6 and abs(total - 1) > 1e-6:
        raise UserError(f"--split parts must sum to 100 (or 1); {text!r} sums to {total:g}")
    return parts[0] / total, parts[1] / total, parts[2] / total


def masking_config_from_args(args: argparse.Namespace, seed: int) -> MaskingConfig:
    mask, random, _keep = parse_split(args.split)
    config = MaskingConfig(
        mlm_probability=args.mask_rate,
        mask_replace_prob=mask,
        random_replace_prob=random,
        strategy=args.masking,
        span_geometric_p=args.span_p,
        span_max_length=args.span_max,
        dynamic=not args.static_masking,
        seed=seed,
    )
    config.validate()
    return config
