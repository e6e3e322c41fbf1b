"""The Fine-tune panel: adapt a pretrained model to a labelled task and see, next to a from-scratch baseline
trained with identical settings, what pretraining buys.

The form (`finetune_data`) picks the task, the files (the bundled demo sets by default), the columns, the base
model and the settings; Start runs `workbench.views.finetune_view.run_with_baseline` (the fine-tune, then the
scratch baseline when "with baseline" is ticked) in a child process, a `ProcessTask` as in the Train panel
(why: `workbench.jobs.background`); Stop ends it with a checkpoint (Resume continues that run). Events arrive tagged with their arm and only fill buffers; the views of
`finetune_results` draw the curves with the baseline overlaid, the confusion matrix and per-class scores of
the best epoch, and a try-it box.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.finetune.trainer import EpochEvent, FinetuneResult
from workbench.core.training_types import StatusEvent, StepEvent
from workbench.gui.job_controls import JobControls
from workbench.gui.panels.finetune_data import FinetuneForm
from workbench.gui.panels.finetune_results import FinetuneCurves, ScoresView, TryItBox
from workbench.gui.state import AppState
from workbench.gui.workers import ProcessTask, Task, TaskRunner
from workbench.jobs.background import finetune_new, finetune_resume
from workbench.views.finetune_view import MAIN_METRIC, arm_names, base_models, summary_html


class FinetunePanel(QWidget):
    """The form on the left; Start / Stop, progress, curves, scores and the try-it box on the right."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, runner
        self.task_name = "classify"
        self.pretrained = True  # whether the latest launch's fine-tune starts from a pretraining run
        self.runs: dict[str, int] = {}  # arm -> run id of the latest launch
        self.results: dict[str, FinetuneResult] = {}
        self.form = FinetuneForm()
        self.curves = FinetuneCurves()
        self.scores = ScoresView()
        self.try_it = TryItBox(state.home, runner)
        self._build()
        self.form.base.refresh(base_models(state.store))
        state.runs_changed.connect(self._runs_changed)

    def _build(self) -> None:
        self.controls = JobControls(
            self.state, self.runner, "Ready: choose a task and a base model, then press Start.",
            start_tip="Fine-tune with these settings (and then the scratch baseline, if ticked).",
            stop_tip="Save a checkpoint and end the run; Resume continues it later.",
            resume_tip="Continue the stopped fine-tuning run from its checkpoint.",
            can_resume=self._finetune_stopped, can_start=lambda: not self.form.data.problem())
        self.with_baseline = QCheckBox("with baseline")
        self.with_baseline.setChecked(True)
        self.with_baseline.setToolTip("After the fine-tune, train the same model from random weights with identical "
                                      "settings and data, and draw both: the gap is what pretraining buys.")
        self.controls.add_widget(self.with_baseline)
        self.controls.start_button.clicked.connect(self.start)
        self.form.data.checked.connect(self.controls.update_buttons)  # no Start while the file cannot be read
        self.controls.resume_button.clicked.connect(self._resume_clicked)
        self.controls.changed.connect(self._enable_form)
        self.controls.finished.connect(self.curves.fit)
        self.form.base.scratch.toggled.connect(self._enable_form)  # a baseline needs a pretrained start
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)  # summary_html is escaped HTML even on one line
        self.tabs = QTabWidget()
        self.tabs.addTab(self.scores, "Scores")
        self.tabs.addTab(self.try_it, "Try it")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.curves)
        splitter.addWidget(self.tabs)
        splitter.setSizes([320, 330])
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.summary)
        right.addWidget(splitter, 1)
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFixedWidth(self.form.sizeHint().width() + 24)
        layout = QHBoxLayout(self)
        layout.addWidget(scroll)
        layout.addLayout(right, 1)
        self.controls.update_buttons()

    # ---- start, stop, resume ---------------------------------------------------------------------------

    @Slot()
    def start(self) -> bool:
        """Launch the fine-tune (and baseline); False with a message when the form is not ready."""
        if self.task is not None or self.form.data.problem():
            return False
        try:
            spec = self.form.spec()
        except ValueError as error:
            self.controls.set_phase("failed", str(error))
            return False
        with_baseline = self.with_baseline.isChecked() and spec.from_run is not None
        self.runs, self.results = {}, {}
        note = " then the scratch baseline" if with_baseline else ""
        self._launch(ProcessTask("fine-tuning", partial(finetune_new, self.state.home, spec, with_baseline)),
                     spec.task, spec.from_run is not None, f"Fine-tuning{note}…")
        return True

    @Slot()
    def _resume_clicked(self) -> None:
        if self.runs.get("finetune") is not None:
            self.resume(self.runs["finetune"])

    def resume(self, run_id: int) -> bool:
        """Continue a stopped or interrupted fine-tuning run (this panel's last one, or one the Runs panel
        names); False when a run is training or `run_id` is not a fine-tuning run."""
        run = self.state.store.get_run(run_id)
        if self.task is not None or run is None or run.kind != "finetune":
            return False
        keep_curves = self.runs.get("finetune") == run_id
        self.runs, self.results = {"finetune": run_id}, {}
        self._launch(ProcessTask("fine-tuning", partial(finetune_resume, self.state.home, run_id)),
                     run.config["task"], run.parent_run_id is not None, "Resuming the fine-tune from its checkpoint…",
                     keep_curves=keep_curves)
        return True

    def _launch(self, task: Task, task_name: str, pretrained: bool, text: str, keep_curves: bool = False) -> None:
        """`pretrained`: the fine-tune starts from a pretraining run (else from scratch), for its labels."""
        self.task_name, self.pretrained = task_name, pretrained
        if not keep_curves:
            self.curves.reset(task_name, arm_names(pretrained))
            self.scores.clear()
            self.summary.clear()
        task.event.connect(self._on_event)
        task.succeeded.connect(self._on_succeeded)
        self.controls.launch(task, "running", text)

    @Slot()
    def stop(self) -> None:
        """Stop the run with a checkpoint (as the Stop button does)."""
        self.controls.stop()

    @property
    def task(self) -> Task | None:
        """The fine-tuning task running, else None."""
        return self.controls.task

    # ---- what the worker reports -----------------------------------------------------------------------

    @Slot(object)
    def _on_event(self, tagged: object) -> None:
        arm, event = tagged
        self.curves.add(arm, event)
        if isinstance(event, StepEvent):
            self.controls.show_step(event.step, event.total_steps)
        elif isinstance(event, EpochEvent):
            key, title = MAIN_METRIC[self.task_name]
            who = "fine-tune" if arm == "finetune" else "baseline"
            self.controls.set_phase("running", f"Training the {who}: epoch {event.epoch}, validation {title} "
                                        f"{event.metrics[key]:.1%}")
        elif isinstance(event, StatusEvent) and event.status == "running":
            self.state.runs_changed.emit()

    @Slot(object)
    def _on_succeeded(self, done: dict) -> None:
        for arm, (run_id, result) in done.items():
            self.runs[arm], self.results[arm] = run_id, result
        finetune = self.results.get("finetune")
        if finetune is None:
            self.controls.set_phase("stopped", "Stopped before the fine-tune started.")
            return
        self.summary.setText(summary_html(self.task_name, self.results, self.pretrained))
        if finetune.best_details:
            self.scores.show_details(f"Best epoch ({finetune.best_epoch}) of the fine-tune, on the validation "
                                     f"file", finetune.best_details)
        run = self.state.store.get_run(self.runs["finetune"])
        labels = run.config.get("labels", []) if run else []
        self.try_it.set_runs(self.task_name, {arm: rid for arm, rid in self.runs.items()
                                              if self.results[arm].best_checkpoint}, labels, arm_names(self.pretrained))
        statuses = {result.status for result in self.results.values()}
        if "failed" in statuses:
            failed = next(r for r in self.results.values() if r.status == "failed")
            self.controls.set_phase("failed", f"Failed: {failed.message}")
            self.controls.report_error(f"Fine-tuning failed: {failed.message}")
        elif "stopped" in statuses:
            again = " Resume continues the fine-tune." if finetune.status == "stopped" else ""
            self.controls.set_phase("stopped", f"Stopped: a checkpoint is saved.{again}")
        else:
            self.controls.set_phase("completed", "Done.")

    @Slot()
    def _runs_changed(self) -> None:
        if self.task is None:
            self.form.base.refresh(base_models(self.state.store))

    def _finetune_stopped(self) -> bool:
        """Whether the latest launch's fine-tune was stopped (so Resume can continue it)."""
        stopped = self.results.get("finetune")
        return stopped is not None and stopped.status == "stopped"

    @Slot()
    def _enable_form(self) -> None:
        busy = self.controls.busy
        self.form.setEnabled(not busy)
        self.with_baseline.setEnabled(not busy and not self.form.base.scratch.isChecked())


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(FinetunePanel)
