"""A run's metric points as CSV rows: `runs export` and the Runs panel write the same file."""

from __future__ import annotations

import csv
from typing import Iterable, Iterator, Sequence, TextIO

from workbench.store.runstore import MetricPoint

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
