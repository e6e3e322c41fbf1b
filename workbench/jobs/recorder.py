"""A training listener that records a run's events in the run store (metrics in batches, checkpoints, status).

When the database's disk is full (or turns read-only) while metrics are written, the recorder raises
`StorageError` so the trainer stops the run; the final status is still written, dropping the metrics batch that
could not be (at most one batch is lost), so the run never stays `running`.
"""

from __future__ import annotations

from workbench.core.storage import StorageError
from workbench.core.training_types import CheckpointEvent, EvalEvent, StatusEvent, StepEvent
from workbench.store.metrics_writer import MetricsWriter
from workbench.store.records import StoreWriteError
from workbench.store.runstore import RunStore

# Statuses that end a run; an error text is kept for the ones that did not end well (interrupted: another
# process of a data-parallel run was lost).
FAILED_STATUSES = {"failed", "diverged", "interrupted"}


class RunRecorder:
    """Call it with every training event; it writes them to the store under `run_id`."""

    def __init__(self, store: RunStore, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.writer = MetricsWriter(store, run_id)

    def __call__(self, event: object) -> None:
        if isinstance(event, StepEvent):
            self._add(event.step, train_loss=event.loss, lr=event.lr, tokens_per_second=event.tokens_per_second)
        elif isinstance(event, EvalEvent):
            self._add(
                event.step,
                val_loss=event.val_loss,
                val_accuracy=event.val_accuracy,
                val_perplexity=event.val_perplexity,
                unigram_baseline_loss=event.unigram_baseline_loss,
                **event.extra,
            )
            self._flush(event.step)  # evaluations are rare and users watch them: show them at once
        elif isinstance(event, CheckpointEvent):
            self._flush(event.step)
            self.store.add_checkpoint(self.run_id, event.step, str(event.path), event.sha256, event.size, event.metrics,
                                      event.state_sha256)
        elif isinstance(event, StatusEvent):
            self.close()
            error = event.message if event.status in FAILED_STATUSES else None
            self.store.set_status(self.run_id, event.status, error=error)

    def _add(self, step: int, **values: float | None) -> None:
        try:
            for key, value in values.items():
                if value is not None:
                    self.writer.add(key, step, float(value))
        except StoreWriteError as error:
            raise StorageError(error.code, f"{error.problem} while writing metrics at step {step}") from error

    def _flush(self, step: int) -> None:
        try:
            self.writer.flush()
        except StoreWriteError as error:
            raise StorageError(error.code, f"{error.problem} while writing metrics at step {step}") from error

    def close(self) -> None:
        """Write what is buffered; if the disk refuses it, drop it (the run's status matters more)."""
        try:
            self.writer.flush()
        except StoreWriteError:
            self.writer.discard()
