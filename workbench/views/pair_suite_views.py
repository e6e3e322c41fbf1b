"""What the Probe panel's minimal-pair Suites view shows, without Qt: the table of a stored result (overall, then
each phenomenon), accuracy over checkpoints, the pairs of the last evaluation, their CSV rows, and a cancellable
evaluation over checkpoints (`workbench.jobs.pair_suites`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from workbench.core.probing.minimal_pairs import PairResult
from workbench.jobs.pair_suites import run_pair_suite
from workbench.jobs.workspace import Workspace
from workbench.store.probe_results import ProbeResultRecord, metric_series
from workbench.views.probe_views import SuiteRun, cancellable

PAIR_SUITE_HEADER = ("step", "phenomenon", "pairs", "method", "accuracy", "ties", "mean_margin")
PAIR_ITEMS_HEADER = ("phenomenon", "good", "bad", "pll_good", "pll_bad", "margin", "outcome")


def pair_table_rows(metrics: dict) -> list[tuple[str, int, float, int, float]]:
    """(scope, pairs, accuracy, ties, mean margin): 'overall' first, then each phenomenon by name."""
    scopes = [("overall", metrics["overall"]), *sorted(metrics["groups"].items())]
    return [(name, int(m["n"]), m["accuracy"], int(m["ties"]), m["mean_margin"]) for name, m in scopes]


def pair_curves(results: Sequence[ProbeResultRecord],
                groups: Sequence[str | None]) -> list[tuple[str, list[int], list[float]]]:
    """(name, checkpoint steps, accuracy) over stored results of one suite version, per scope (None: overall)."""
    curves = []
    for group in groups:
        points = metric_series(results, "accuracy", group) if results else []
        if points:
            curves.append((group or "overall", [step for step, _ in points], [value for _, value in points]))
    return curves


def outcome(item: PairResult) -> str:
    return "tie" if item.tie else "right" if item.correct else "wrong"


def pair_item_rows(items: Sequence[PairResult]) -> list[tuple]:
    """One row per pair: its sentences, both PLLs, the margin and the outcome (right, wrong or tie)."""
    return [(i.phenomenon, i.good, i.bad, i.pll_good, i.pll_bad, i.pll_good - i.pll_bad, outcome(i)) for i in items]


def pair_suite_rows(results: Sequence[ProbeResultRecord]) -> list[tuple]:
    """Every stored checkpoint's table (overall first, then each phenomenon): the table and the curves together."""
    return [(record.checkpoint_step, scope, n, record.metrics.get("method", ""), accuracy, ties, margin)
            for record in results for scope, n, accuracy, ties, margin in pair_table_rows(record.metrics)]


def run_pairs_cancellable(
    ws: Workspace,
    run_id: int,
    suite_path: str | Path | None,
    step: int | None,
    all_checkpoints: bool,
    method: str = "original",
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> SuiteRun:
    """`run_pair_suite`, `cancellable`."""
    return cancellable(lambda report: run_pair_suite(ws, run_id, suite_path, step, all_checkpoints, method,
                                                     progress=report), progress, cancelled)
