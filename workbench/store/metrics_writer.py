"""MetricsWriter: buffers a training loop's metric points and writes them to the run store in batches.

One commit per logged value would make a fast loop wait on the disk; a batch every `flush_every_n` points or
`flush_every_s` seconds keeps writes cheap while a watching GUI still sees new points within seconds.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from workbench.store.records import MetricTuple, now_ms

if TYPE_CHECKING:
    from workbench.store.runstore import RunStore


class MetricsWriter:
    """Buffers a run's metric points and writes them in batches (every `flush_every_n` points or
    `flush_every_s` seconds, checked on `add`), so a training loop does not commit once per value.

    Safe to share between threads; use as a context manager (or call `flush()`) so the tail is written.
    """

    def __init__(self, store: RunStore, run_id: int, flush_every_n: int = 100, flush_every_s: float = 2.0) -> None:
        self.store = store
        self.run_id = run_id
        self.flush_every_n = flush_every_n
        self.flush_every_s = flush_every_s
        self._buffer: list[MetricTuple] = []
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()

    def add(self, key: str, step: int, value: float, wall_time_ms: int | None = None) -> None:
        with self._lock:
            self._buffer.append((key, step, value, now_ms() if wall_time_ms is None else wall_time_ms))
            due = time.monotonic() - self._last_flush >= self.flush_every_s
            if len(self._buffer) >= self.flush_every_n or due:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def discard(self) -> int:
        """Drop the buffered points (the disk refused them and the run is stopping); how many were dropped."""
        with self._lock:
            dropped, self._buffer = len(self._buffer), []
            return dropped

    def _flush_locked(self) -> None:
        if self._buffer:
            self.store.log_metrics(self.run_id, self._buffer)
            self._buffer = []  # only after the write succeeded, so a failed flush can be retried
        self._last_flush = time.monotonic()

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

