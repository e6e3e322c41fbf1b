"""Output helpers for the CLI: JSON on stdout, tables and progress bars on stderr (so `--json` stays clean)."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Iterable, Sequence

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from workbench.core.training_types import EvalEvent, StatusEvent, StepEvent

stderr = Console(stderr=True, highlight=False)
stdout = Console(highlight=False)


def print_json(data: Any) -> None:
    """Valid JSON whatever the numbers: NaN and infinities (a diverged run's loss) are written as null."""
    json.dump(_finite(data), sys.stdout, indent=2, default=str, allow_nan=False)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout.print(table)


def fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


class PreparationProgress:
    """A spinner-like line per preparation stage (tokenizer training, encoding), on stderr."""

    def __init__(self) -> None:
        self._stage: str | None = None
        self._progress = Progress(TextColumn("{task.description}"), TextColumn("{task.completed:,.0f} docs"),
                                  TimeElapsedColumn(), console=stderr, transient=True)
        self._task = None

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage != self._stage:
            self.close()
            self._progress.start()
            self._task = self._progress.add_task(stage, total=total)
            self._stage = stage
        self._progress.update(self._task, completed=done)

    def close(self) -> None:
        if self._stage is not None:
            self._progress.stop()
            self._stage = None


class TrainingProgress:
    """A training listener drawing a progress bar with loss, tokens/s and ETA; evaluations print a line."""

    def __init__(self, total_steps: int) -> None:
        self._progress = Progress(
            TextColumn("step {task.completed:>6.0f}/{task.total:.0f}"),
            BarColumn(),
            TextColumn("loss {task.fields[loss]}  {task.fields[tps]} tok/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=stderr,
        )
        self._task = self._progress.add_task("train", total=total_steps, loss="-", tps="-")
        self._progress.start()

    def __call__(self, event: object) -> None:
        if isinstance(event, StepEvent):
            self._progress.update(self._task, completed=event.step, total=event.total_steps,
                                  loss=fmt(event.loss), tps=f"{event.tokens_per_second:,.0f}")
        elif isinstance(event, EvalEvent):
            self._progress.console.print(
                f"step {event.step}: val loss {fmt(event.val_loss)}  accuracy {fmt(event.val_accuracy)}  "
                f"perplexity {fmt(event.val_perplexity, 2)}  (unigram baseline {fmt(event.unigram_baseline_loss)})"
            )
        elif isinstance(event, StatusEvent) and event.status not in ("running", "paused"):
            self.close()

    def close(self) -> None:
        self._progress.stop()
