"""A run's metric points as CSV rows: `runs export` and the Runs panel write the same file."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Iterable, Iterator, Sequence, TextIO

from workbench.store.runstore import MetricPoint, RunStore

METRICS_CSV_HEADER = ("run_id", "key", "step", "value", "wall_time")


def metrics_csv_rows(run_id: int, points: Iterable[MetricPoint]) -> Iterator[tuple[int, str, int, str, int]]:
    """One CSV row per point; `repr` keeps every digit of the value (and writes NaN as `nan`)."""
    for point in points:
        yield (run_id, point.key, point.step, repr(point.value), point.wall_time)


def write_metrics_csv(out: TextIO, rows: Iterable[Sequence[object]]) -> int:
    """Write the header and `rows` (from `metrics_csv_rows`, possibly of several runs); returns the row count."""
    writer = csv.writer(out)
    writer.writerow(METRICS_CSV_HEADER)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def export_metrics_csv(store: RunStore, run_ids: Sequence[int], path: str | Path) -> int:
    """Write the metrics of `run_ids`, in that order, to the CSV file `path`; returns the row count."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        rows = itertools.chain.from_iterable(metrics_csv_rows(run_id, store.metrics(run_id)) for run_id in run_ids)
        return write_metrics_csv(out, rows)
