"""How tokens are hidden from the model: `MaskingConfig` (HuggingFace's names: `mlm_probability`,
`mask_replace_prob`, `random_replace_prob`), and the span-length maths its settings imply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.settings.base import SettingError, Settings, setting
from workbench.settings.train import MAX_SEED

STRATEGIES = ("token", "whole-word", "span")


def span_length_probabilities(p: float, max_length: int) -> list[float]:
    """P(length = k) for k = 1..max_length: Geometric(p) truncated at max_length and renormalised (SpanBERT)."""
    probs = [p * (1.0 - p) ** k for k in range(max_length)]
    total = sum(probs)
    return [x / total for x in probs]


def span_length_mean(p: float, max_length: int) -> float:
    """Exact mean span length in words (3.797 for SpanBERT's p=0.2, max_length=10)."""
    return sum(k * prob for k, prob in enumerate(span_length_probabilities(p, max_length), start=1))


@dataclass(frozen=True)
class MaskingConfig(Settings):
    """Selection rate and strategy, the mask/random/keep split, span shape, and the seed of the masks."""

    section = "masking"

    mlm_probability: float = setting(0.15, "Share of the tokens the model must predict in each sequence.",
                                     "Masking rate", flag="--mask-rate", low=0.01, high=0.8, step=0.01)
    mask_replace_prob: float = setting(0.8, "Of the chosen tokens, the share replaced by [MASK].", "[MASK] share",
                                       flag="--split", low=0.0, high=1.0, on_cli=False)
    random_replace_prob: float = setting(0.1, "Of the chosen tokens, the share replaced by a random token; the rest "
                                         "is kept unchanged (and still predicted).", "Random share", flag="--split",
                                         low=0.0, high=1.0, on_cli=False)
    strategy: str = setting("token", "token: each piece on its own; whole-word: all pieces of a word together; span: "
                            "runs of whole words (SpanBERT).", "Strategy", flag="--masking", choices=STRATEGIES)
    span_geometric_p: float = setting(0.2, "Span lengths in words follow a geometric distribution with this p: "
                                      "larger p, shorter spans.", "Span p", flag="--span-p", low=0.01, high=1.0,
                                      step=0.05, decimals=2)
    span_max_length: int = setting(10, "The longest span, in words.", "Span max length (words)", flag="--span-max",
                                   low=1, high=64)
    dynamic: bool = setting(True, "Dynamic masking draws fresh blanks every time a sequence is seen; static masking "
                            "repeats the same ones every epoch.", "Dynamic masks", flag="--static-masking",
                            negated_flag=True, cli_help="a sequence gets the same mask every epoch (default: fresh "
                            "masks each time)")
    seed: int = setting(0, "The seed of the masks; a run sets it to its own seed.", "Masking seed", low=0,
                        high=MAX_SEED, on_cli=False)

    @property
    def keep_prob(self) -> float:
        return 1.0 - self.mask_replace_prob - self.random_replace_prob

    def check(self) -> None:
        if self.keep_prob < -1e-6:
            raise SettingError("mask_replace_prob", "must be at most 1 together with random_replace_prob (the rest "
                               f"is kept); got {self.mask_replace_prob} + {self.random_replace_prob}")

    @classmethod
    def from_split(cls, mask: float, random: float, keep: float, **kwargs: Any) -> MaskingConfig:
        """Config from a mask/random/keep split given as fractions summing to 1 or percents summing to 100."""
        total = mask + random + keep
        if min(mask, random, keep) < 0:
            raise SettingError("mask_replace_prob", f"and the random and keep shares must be non-negative; got "
                               f"{mask}/{random}/{keep}")
        if abs(total - 100.0) <= 1e-4:
            mask, random, keep = mask / 100.0, random / 100.0, keep / 100.0
        elif abs(total - 1.0) > 1e-6:
            raise SettingError("mask_replace_prob", f"and the random and keep shares must sum to 1 (or 100 "
                               f"percent); got {total:g}")
        return cls(mask_replace_prob=mask, random_replace_prob=random, **kwargs)
