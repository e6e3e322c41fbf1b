"""How tokens are hidden from the model: `MaskingConfig` (HuggingFace's names: `mlm_probability`,
`mask_replace_prob`, `random_replace_prob`), and the span-length maths its settings imply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.settings.base import SettingError, Settings, setting
from workbench.settings.train import MAX_SEED

STRATEGIES = ("token", "whole-word", "span")
SCHEDULE_SHAPES = ("steps", "linear")
RATES_PATTERN = r"\d+(\.\d+)?(,\d+(\.\d+)?)+"


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
                                      step=0.05, decimals=2, advanced=True)
    span_max_length: int = setting(10, "The longest span, in words.", "Span max length (words)", flag="--span-max",
                                   low=1, high=64, advanced=True)
    dynamic: bool = setting(True, "Dynamic masking draws fresh blanks every time a sequence is seen; static masking "
                            "repeats the same ones every epoch.", "Dynamic masks", flag="--static-masking",
                            negated_flag=True, cli_help="a sequence gets the same mask every epoch (default: fresh "
                            "masks each time)", advanced=True)
    seed: int = setting(0, "The seed of the masks; a run sets it to its own seed.", "Masking seed", low=0,
                        high=MAX_SEED, on_cli=False, advanced=True)
    rate_schedule: str | None = setting(None, "The masking rate over training, in percent for equal parts of the "
                                        "run: 30,15,5 masks 30% of the tokens in the first third, then 15%, then "
                                        "5% (mmBERT's falling rate).", "Rate schedule", flag="--mask-rate-schedule",
                                        pattern=RATES_PATTERN, allowed="percentages separated by commas, such as "
                                        "30,15,5", none="the masking rate throughout", metavar="R1,R2,...",
                                        advanced=True)
    schedule_shape: str = setting("steps", "steps: each rate holds for its part of the run; linear: the rate moves "
                                  "straight from one to the next.", "Schedule shape", flag="--mask-rate-shape",
                                  choices=SCHEDULE_SHAPES, advanced=True)
    eval_mlm_probability: float = setting(0.15, "The masking rate of the held-out checks, whatever the training "
                                          "rate, so that runs masked at different rates compare on one scale.",
                                          "Evaluation rate", flag="--eval-mask-rate", low=0.01, high=0.8,
                                          step=0.01, advanced=True)

    @property
    def keep_prob(self) -> float:
        return 1.0 - self.mask_replace_prob - self.random_replace_prob

    def scheduled_rates(self) -> list[float]:
        """The schedule's rates as fractions (the masking rate alone when there is no schedule)."""
        if self.rate_schedule is None:
            return [self.mlm_probability]
        return [float(part) / 100.0 for part in self.rate_schedule.split(",")]

    def rate_at(self, fraction: float) -> float:
        """The training masking rate `fraction` (0 to 1) of the way through the run."""
        rates = self.scheduled_rates()
        if len(rates) == 1:
            return rates[0]
        fraction = min(1.0, max(0.0, fraction))
        if self.schedule_shape == "steps":
            return rates[min(int(fraction * len(rates)), len(rates) - 1)]
        where = fraction * (len(rates) - 1)  # linear: through the rates at equal distances, the last at the end
        low = min(int(where), len(rates) - 2)
        return rates[low] + (where - low) * (rates[low + 1] - rates[low])

    def check(self) -> None:
        bad = [rate for rate in self.scheduled_rates() if not 0.01 <= rate <= 0.8]
        if self.rate_schedule is not None and bad:
            raise SettingError("rate_schedule", f"rates must each be from 1 to 80 percent; got {self.rate_schedule}")
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
