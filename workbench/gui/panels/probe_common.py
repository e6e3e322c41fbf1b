"""What the Probe panel's views share: the models being probed (one, or two side by side) and a background
computation where the latest request wins, so typing never waits for the model.

A view asks `Computation.request(fn)`; `fn()` runs on a worker thread with plain data (the loaded models and the
text), never widgets. While one computation runs, newer requests replace each other and only the newest runs
next; a result that a newer request has already outdated is dropped, so the view shows no stale flicker.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QWidget

from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.probe import ProbeModel
from workbench.views.lens_views import Ablation

DEBOUNCE_MS = 250  # typing pauses this long before the model runs
ERROR_STYLE = "color: #b00020;"
NOTE_STYLE = "color: #555555;"


class ProbeContext(QObject):
    """The shared choice of the panel: `models` is [] (nothing loaded), [model] or [model, comparison]; and the
    heads switched off in the Attention view, which Fill-mask and Scoring then use (the weights stay as they are)."""

    models_changed = Signal()
    ablation_changed = Signal()

    def __init__(self, state: AppState, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.models: list[ProbeModel] = []
        self.ablation = Ablation()

    def set_models(self, models: list[ProbeModel]) -> None:
        self.models = list(models)
        # Heads switched off stay off across checkpoints, but only those every model now loaded has.
        heads = tuple(h for h in self.ablation.heads if all(
            h[0] < m.model.config.num_hidden_layers and h[1] < m.model.config.num_attention_heads for m in models))
        self.ablation = Ablation(heads, self.ablation.mode)
        self.models_changed.emit()

    def set_ablation(self, ablation: Ablation) -> None:
        if ablation != self.ablation:
            self.ablation = ablation
            self.ablation_changed.emit()

    @property
    def primary(self) -> ProbeModel | None:
        return self.models[0] if self.models else None


class Computation(QObject):
    """A background computation for one view; `finished(result)` or `failed(message)` for the newest request."""

    finished = Signal(object)
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, runner: TaskRunner, name: str, parent: QObject, on_finished: Callable[[object], None],
                 on_failed: Callable[[str], None]) -> None:
        super().__init__(parent)
        self.finished.connect(on_finished)
        self.failed.connect(on_failed)
        self.runner = runner
        self.name = name
        self.task: Task | None = None
        self.last_ms: float | None = None  # wall time of the last computation, request to result
        self._pending: Callable[[], object] | None = None
        self._started = 0.0

    @property
    def busy(self) -> bool:
        return self.task is not None or self._pending is not None

    def request(self, fn: Callable[[], object]) -> None:
        if self.task is not None:
            self._pending = fn  # replaces any older waiting request
            return
        self._start(fn)

    def _start(self, fn: Callable[[], object]) -> None:
        self._started = time.perf_counter()
        task = Task(self.name, lambda _task: fn())
        task.succeeded.connect(self._on_succeeded)
        task.failed.connect(self._on_failed)
        task.done.connect(self._on_done)
        self.task = task
        self.busy_changed.emit(True)
        self.runner.start(task)

    @Slot(object)
    def _on_succeeded(self, result: object) -> None:
        self.last_ms = (time.perf_counter() - self._started) * 1000
        if self._pending is None:
            self.finished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self._pending is None:
            self.failed.emit(message)

    @Slot()
    def _on_done(self) -> None:
        self.task = None
        pending, self._pending = self._pending, None
        if pending is not None:
            self._start(pending)
        else:
            self.busy_changed.emit(False)


def debounce_timer(parent: QObject, slot: Callable[[], None]) -> QTimer:
    """A single-shot timer that calls `slot` once input has been quiet for DEBOUNCE_MS; `start()` it on each edit."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(DEBOUNCE_MS)
    timer.timeout.connect(slot)
    return timer


def message_label(parent: QWidget | None = None) -> QLabel:
    """A selectable, wrapping label for errors and notes under a view."""
    label = QLabel(parent)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def show_message(label: QLabel, text: str, error: bool = False) -> None:
    label.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)
    label.setText(text)


def model_title(model: ProbeModel) -> str:
    return f"{model.run_name} · step {model.step:,}"
