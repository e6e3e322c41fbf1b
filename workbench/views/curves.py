"""Training curves without Qt: growable buffers of (step, seconds, value), smoothing, axis ranges and the words a
front end shows next to them (durations, rates, progress).

A `RunCurves` collects one run's points, either live from training events (`add_event`) or afterwards from the
run store (`load_curves`: the Train panel's history of a resumed run and the Runs panel's charts alike). Every change bumps `version`, so a plot redraws only when something new
arrived. Smoothing is the debiased exponential moving average TensorBoard uses; `Ema` extends it incrementally so
a long curve is not re-smoothed on every redraw.
"""

from __future__ import annotations

import math
from typing import Iterable, Protocol, Sequence

import numpy as np

from workbench.core.training_types import EvalEvent, StepEvent
from workbench.store.runstore import RunStore

CURVE_KEYS = ("train_loss", "val_loss", "val_accuracy", "lr")


class Series:
    """A growable buffer of points; `steps`, `seconds` and `values` are views of the filled part."""

    def __init__(self, capacity: int = 256) -> None:
        self._data = np.empty((3, capacity), dtype=np.float64)  # rows: step, seconds, value
        self._n = 0
        self.version = 0

    def __len__(self) -> int:
        return self._n

    def append(self, step: float, seconds: float, value: float) -> None:
        if self._n == self._data.shape[1]:  # doubling keeps appends amortised O(1)
            self._data = np.concatenate([self._data, np.empty_like(self._data)], axis=1)
        self._data[:, self._n] = (step, seconds, value)
        self._n += 1
        self.version += 1

    @property
    def steps(self) -> np.ndarray:
        return self._data[0, : self._n]

    @property
    def seconds(self) -> np.ndarray:
        return self._data[1, : self._n]

    @property
    def values(self) -> np.ndarray:
        return self._data[2, : self._n]

    def x(self, axis: str) -> np.ndarray:
        """The x values for an axis "step" or "time"."""
        return self.steps if axis == "step" else self.seconds


class MetricLike(Protocol):
    key: str
    step: int
    value: float
    wall_time: int  # milliseconds since the epoch


class RunCurves:
    """One run's curves (keys of CURVE_KEYS), its unigram baseline, and where training stands."""

    def __init__(self) -> None:
        self.series = {key: Series() for key in CURVE_KEYS}
        self.baseline: float | None = None
        self.total_steps: int | None = None
        self.last_step = 0
        self.last_seconds = 0.0
        self.eta: float | None = None

    def __getitem__(self, key: str) -> Series:
        return self.series[key]

    @property
    def version(self) -> int:
        return sum(s.version for s in self.series.values())

    def add_event(self, event: object) -> bool:
        """Append what a StepEvent or EvalEvent carries; True when the curves changed."""
        if isinstance(event, StepEvent):
            self.last_step, self.last_seconds = event.step, event.elapsed
            self.total_steps, self.eta = event.total_steps, event.eta
            self.series["train_loss"].append(event.step, event.elapsed, event.loss)
            self.series["lr"].append(event.step, event.elapsed, event.lr)
            return True
        if isinstance(event, EvalEvent):
            # evaluations carry no clock: they come right after the step's log point, so its time is close
            self.series["val_loss"].append(event.step, self.last_seconds, event.val_loss)
            self.series["val_accuracy"].append(event.step, self.last_seconds, event.val_accuracy)
            if event.unigram_baseline_loss is not None:
                self.baseline = event.unigram_baseline_loss
            return True
        return False

    @classmethod
    def from_metrics(cls, points: Iterable[MetricLike], until_step: int | None = None) -> RunCurves:
        """A run's curves from its stored metric points (optionally only up to `until_step`)."""
        points = [p for p in points if until_step is None or p.step <= until_step]
        curves = cls()
        if not points:
            return curves
        walls = np.array([p.wall_time for p in points], dtype=np.float64)
        order = np.argsort(walls, kind="stable")
        seconds = np.empty_like(walls)
        seconds[order] = active_seconds(walls[order])
        for point, t in sorted(zip(points, seconds), key=lambda pair: (pair[0].step, pair[1])):
            if point.key in curves.series:
                curves.series[point.key].append(point.step, t, point.value)
            elif point.key == "unigram_baseline_loss" and math.isfinite(point.value):
                curves.baseline = point.value
            curves.last_step = max(curves.last_step, point.step)
            curves.last_seconds = max(curves.last_seconds, float(t))
        return curves


def load_curves(store: RunStore, run_id: int, until_step: int | None = None) -> RunCurves:
    """A recorded run's curves (optionally only up to `until_step`, where a resumed run goes on)."""
    return RunCurves.from_metrics(store.metrics(run_id), until_step)


def active_seconds(wall_ms: np.ndarray, max_gap_s: float = 60.0) -> np.ndarray:
    """Seconds since the first of sorted wall-clock times, a gap longer than `max_gap_s` (a pause, a run resumed
    the next day) counted as a typical gap instead, so stored runs line up with live training time."""
    if len(wall_ms) == 0:
        return np.zeros(0)
    gaps = np.diff(np.asarray(wall_ms, dtype=np.float64)) / 1000.0
    positive = gaps[gaps > 0]
    typical = float(np.median(positive)) if len(positive) else 0.0
    gaps = np.where(gaps > max_gap_s, min(typical, max_gap_s), gaps)
    return np.concatenate([[0.0], np.cumsum(gaps)])


class Ema:
    """Debiased exponential moving average (TensorBoard's smoothing), extended point by point as data grows."""

    def __init__(self, factor: float) -> None:
        if not 0.0 <= factor < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {factor}")
        self.factor = factor
        self._out = np.zeros(0)
        self._state, self._weight = 0.0, 0.0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The smoothed copy of `values`; only points beyond the previous call are computed."""
        n_done = len(self._out)
        if len(values) < n_done:  # a new, shorter series: start over
            self._out, self._state, self._weight, n_done = np.zeros(0), 0.0, 0.0, 0
        new = np.empty(len(values) - n_done)
        f = self.factor
        for i, value in enumerate(values[n_done:]):
            if math.isfinite(value):  # a NaN point stays NaN and does not poison what follows
                self._state = f * self._state + (1.0 - f) * value
                self._weight = f * self._weight + (1.0 - f)
                new[i] = self._state / self._weight
            else:
                new[i] = math.nan
        self._out = np.concatenate([self._out, new])
        return self._out


def padded_range(arrays: Sequence[np.ndarray], log: bool = False, pad: float = 0.05) -> tuple[float, float] | None:
    """(low, high) around the finite values of all `arrays` with a margin; log10 bounds when `log` (a
    log-scale axis ranges in log10 units), positive values only. None when there is nothing to show."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays]) if arrays else np.zeros(0)
    values = values[np.isfinite(values)]
    if log:
        values = np.log10(values[values > 0])
    if len(values) == 0:
        return None
    low, high = float(values.min()), float(values.max())
    margin = (high - low) * pad or max(abs(high) * pad, 1e-3)
    return low - margin, high + margin


HEADROOM_PX = 6  # between the highest point and a legend or a label above it


def with_headroom(y_range: tuple[float, float], pixels: float, height: float) -> tuple[float, float]:
    """`y_range` raised at the top so that `pixels` of a `height`-pixel view lie above the data (at most half)."""
    low, high = y_range
    share = min(pixels / height, 0.5) if height > 0 else 0.0
    return low, high + (high - low) * share / (1.0 - share)


def nearest_index(xs: np.ndarray, x: float) -> int | None:
    """Index of the value in the sorted `xs` nearest to `x`; None when `xs` is empty."""
    if len(xs) == 0:
        return None
    i = int(np.searchsorted(xs, x))
    if i == 0:
        return 0
    if i == len(xs):
        return len(xs) - 1
    return i if xs[i] - x < x - xs[i - 1] else i - 1


def format_duration(seconds: float | None) -> str:
    """A short human duration: "42 s", "3 min 05 s", "2 h 07 min"; "--" when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_count(value: float) -> str:
    """12, 1.2k, 34.5k, 1.2M: a rate or count at a glance."""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return f"{value:.0f}"


def progress_text(event: StepEvent) -> str:
    """One line under the progress bar: step, speed, time so far and time left."""
    return (f"step {event.step:,} of {event.total_steps:,} · {format_count(event.tokens_per_second)} tokens/s · "
            f"{format_duration(event.elapsed)} so far · {time_left(event.eta)}")


def time_left(eta: float | None) -> str:
    """"about 3 min 05 s left"; never "about 0 s left" or "about -- left"."""
    if eta is None or not math.isfinite(eta):
        return "time left: estimating"
    return "finishing" if eta < 1 else f"about {format_duration(eta)} left"


def plural(count: int, noun: str) -> str:
    """"1 document", "2,000 documents"."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
