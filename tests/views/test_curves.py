"""Curve buffers, smoothing, ranges and labels for the live plots (no Qt)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from workbench.core.training_types import EvalEvent, StatusEvent, StepEvent
from workbench.views.curves import (
    Ema,
    RunCurves,
    Series,
    active_seconds,
    format_count,
    format_duration,
    nearest_index,
    padded_range,
    plural,
    progress_text,
    time_left,
)


def test_series_grows_past_its_capacity_and_counts_versions() -> None:
    series = Series(capacity=2)
    for i in range(7):
        series.append(i * 5, i * 0.5, 10.0 - i)
    assert len(series) == 7 and series.version == 7
    assert series.steps.tolist() == [0, 5, 10, 15, 20, 25, 30]
    assert series.x("time")[-1] == 3.0 and series.values[-1] == 4.0


def test_run_curves_from_events() -> None:
    curves = RunCurves()
    assert curves.add_event(StepEvent(10, 100, 6.5, 1e-3, 900.0, 2.0, 18.0, 1.2))
    assert curves.add_event(EvalEvent(10, 6.1, 0.05, math.exp(6.1), 6.4))
    assert not curves.add_event(StatusEvent("running", "go"))
    assert curves["train_loss"].values.tolist() == [6.5] and curves["lr"].values.tolist() == [1e-3]
    assert curves["val_loss"].seconds.tolist() == [2.0]  # evaluations take the last step's clock
    assert curves.baseline == 6.4 and curves.total_steps == 100 and curves.eta == 18.0
    version = curves.version
    curves.add_event(StepEvent(20, 100, 6.0, 1e-3, 900.0, 4.0, 16.0, 1.0))
    assert curves.version > version


@dataclass
class Point:
    key: str
    step: int
    value: float
    wall_time: int


def test_run_curves_from_stored_metrics_compresses_long_gaps() -> None:
    start = 1_700_000_000_000
    points = [Point("train_loss", s, 7.0 - s / 10, start + s * 100) for s in (1, 2, 3)]
    points += [Point("train_loss", 4, 6.5, start + 10 * 3600 * 1000)]  # resumed ten hours later
    points += [Point("val_loss", 3, 6.9, start + 300), Point("unigram_baseline_loss", 3, 6.2, start + 300),
               Point("tokens_per_second", 3, 1000.0, start + 300)]
    curves = RunCurves.from_metrics(points)
    assert curves["train_loss"].steps.tolist() == [1, 2, 3, 4]
    assert curves["train_loss"].seconds.tolist() == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert curves["val_loss"].values.tolist() == [6.9] and curves.baseline == 6.2
    assert curves.last_step == 4
    assert len(RunCurves.from_metrics(points, until_step=2)["train_loss"]) == 2


def test_active_seconds_keeps_short_gaps() -> None:
    assert active_seconds(np.array([0, 1000, 3000])).tolist() == [0.0, 1.0, 3.0]
    assert len(active_seconds(np.zeros(0))) == 0


def test_ema_is_debiased_incremental_and_skips_nan() -> None:
    values = np.array([4.0, 2.0, math.nan, 2.0])
    ema = Ema(0.5)
    first = ema(values[:2]).copy()
    assert first.tolist() == [4.0, pytest.approx((0.5 * 2.0 + 0.25 * 4.0) / 0.75)]
    full = ema(values)
    assert full[:2].tolist() == first.tolist() and math.isnan(full[2])
    assert full[3] == pytest.approx(Ema(0.5)(np.array([4.0, 2.0, 2.0]))[2])
    assert Ema(0.0)(np.array([1.0, 3.0])).tolist() == [1.0, 3.0]  # no smoothing
    assert ema(np.array([9.0])).tolist() == [9.0]  # a shorter series starts over
    with pytest.raises(ValueError):
        Ema(1.0)


def test_padded_range_linear_log_and_empty() -> None:
    low, high = padded_range([np.array([1.0, 3.0]), np.array([math.nan, 2.0])])
    assert low == pytest.approx(0.9) and high == pytest.approx(3.1)
    low, high = padded_range([np.array([0.0, 1.0, 100.0])], log=True)
    assert low < 0.0 < 2.0 < high < 2.2  # log10 units, zero left out
    assert padded_range([np.array([math.nan])]) is None and padded_range([]) is None
    low, high = padded_range([np.array([5.0, 5.0])])
    assert low < 5.0 < high


def test_nearest_index() -> None:
    xs = np.array([0.0, 10.0, 20.0])
    assert [nearest_index(xs, x) for x in (-5, 4, 6, 19, 99)] == [0, 0, 1, 2, 2]
    assert nearest_index(np.zeros(0), 1.0) is None


def test_words() -> None:
    assert [format_duration(s) for s in (None, 42.4, 185, 7620)] == ["--", "42 s", "3 min 05 s", "2 h 07 min"]
    assert [format_count(v) for v in (12, 1234, 2_500_000)] == ["12", "1.2k", "2.5M"]
    text = progress_text(StepEvent(120, 3000, 5.0, 1e-3, 12_345.0, 65.0, 1500.0, 1.0))
    assert text == "step 120 of 3,000 · 12.3k tokens/s · 1 min 05 s so far · about 25 min 00 s left"


def test_no_zero_seconds_left_and_no_one_documents() -> None:
    """Issue 15 item 14: "about 0 s left" and "1 documents"."""
    assert [time_left(eta) for eta in (0.3, None, 61)] == ["finishing", "time left: estimating",
                                                            "about 1 min 01 s left"]
    assert [plural(n, "document") for n in (1, 2, 12000)] == ["1 document", "2 documents", "12,000 documents"]
