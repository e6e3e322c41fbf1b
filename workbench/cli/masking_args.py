"""Masking flags shared by `train` and `mask-preview`: the generated ones, and `--split M,R,K`, which sets the
[MASK] and random shares together (the rest is kept)."""

from __future__ import annotations

import argparse
from typing import Any

from workbench.cli.settings_args import add_settings, settings_from_args
from workbench.jobs.errors import UserError
from workbench.settings.masking import MaskingConfig

DEFAULT = MaskingConfig()
DEFAULT_SPLIT = f"{DEFAULT.mask_replace_prob:.0%},{DEFAULT.random_replace_prob:.0%},{DEFAULT.keep_prob:.0%}"


def add_masking_args(parser: argparse.ArgumentParser) -> None:
    group = add_settings(parser, MaskingConfig)
    group.add_argument("--split", metavar="M,R,K", help="of the chosen tokens, percent replaced by [MASK], by a "
                        f"random token, kept (default: {DEFAULT_SPLIT.replace('%', '')})")


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


def masking_config_from_args(args: argparse.Namespace, seed: int = 0,
                             base: dict[str, Any] | None = None) -> MaskingConfig:
    """The masking the flags give, over `base` (a recipe's values)."""
    split = {}
    if args.split is not None:
        mask, random, _keep = parse_split(args.split)
        split = {"mask_replace_prob": mask, "random_replace_prob": random}
    return settings_from_args(MaskingConfig, args, base, seed=seed, **split)
