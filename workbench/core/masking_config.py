"""What masking to do, without torch: the settings the GUI, the CLI and the store handle before any training.

Kept apart from `masking.py` (the torch implementation) so that the desktop window can build its panels and
paint before torch is imported (app start, issue 6).
"""
from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

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
class MaskingConfig:
    """How to corrupt: selection rate and strategy, the mask/random/keep split, span shape, seed."""

    mlm_probability: float = 0.15
    mask_replace_prob: float = 0.8
    random_replace_prob: float = 0.1
    strategy: str = "token"
    span_geometric_p: float = 0.2
    span_max_length: int = 10
    dynamic: bool = True
    seed: int = 0

    @property
    def keep_prob(self) -> float:
        return 1.0 - self.mask_replace_prob - self.random_replace_prob

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field and its allowed values."""
        _check_range("mlm_probability", self.mlm_probability, 0.01, 0.8)
        _check_range("mask_replace_prob", self.mask_replace_prob, 0.0, 1.0)
        _check_range("random_replace_prob", self.random_replace_prob, 0.0, 1.0)
        if self.keep_prob < -1e-6:
            raise ValueError(
                "mask_replace_prob + random_replace_prob must be at most 1 (the rest is kept), "
                f"got {self.mask_replace_prob} + {self.random_replace_prob}"
            )
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {self.strategy!r}")
        _check_range("span_geometric_p", self.span_geometric_p, 0.01, 1.0)
        if not is_integer(self.span_max_length) or not 1 <= self.span_max_length <= 64:
            raise ValueError(f"span_max_length must be an integer from 1 to 64, got {self.span_max_length!r}")
        if not isinstance(self.dynamic, bool):
            raise ValueError(f"dynamic must be true or false, got {self.dynamic!r}")
        if not is_integer(self.seed) or not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be an integer from 0 to 2**63 - 1, got {self.seed!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MaskingConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown masking setting(s): {', '.join(unknown)}")
        config = cls(**data)
        config.validate()
        return config

    @classmethod
    def from_split(cls, mask: float, random: float, keep: float, **kwargs: Any) -> MaskingConfig:
        """Config from a mask/random/keep split given as fractions summing to 1 or percents summing to 100."""
        total = mask + random + keep
        if min(mask, random, keep) < 0:
            raise ValueError(f"mask/random/keep split must be non-negative, got {mask}/{random}/{keep}")
        if abs(total - 100.0) <= 1e-4:
            mask, random, keep = mask / 100.0, random / 100.0, keep / 100.0
        elif abs(total - 1.0) > 1e-6:
            raise ValueError(f"mask/random/keep split must sum to 1 (or 100 percent), got {total:g}")
        config = cls(mask_replace_prob=mask, random_replace_prob=random, **kwargs)
        config.validate()
        return config


def is_integer(value: Any) -> bool:
    """An int (numpy's too), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_range(name: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
