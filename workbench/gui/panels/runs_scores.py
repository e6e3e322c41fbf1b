"""The Runs panel's scores of a distilled student beside its teacher's (`jobs.distill_scores`): read from the store
whenever a distill run is shown, and the cloze scores not recorded yet measured by a background task with a
progress bar (once per run and student checkpoint in a session, and only when the run has stopped training)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Slot

from workbench.gui.panels.runs_tabs import RunDetails
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.distill_scores import DistillScores, distill_scores, measure_cloze, score_lines
from workbench.jobs.workspace import in_workspace
from workbench.store.records import RunRecord, StoreError

LIVE_STATUSES = ("queued", "running", "paused")  # a run still training: its scores are measured when it ends


class DistillScoreKeeper(QObject):
    """Shows a distill run's scores in `details` (`show`) and measures its missing cloze scores on `runner`."""

    def __init__(self, state: AppState, runner: TaskRunner, details: RunDetails) -> None:
        super().__init__(details)
        self.state, self.runner, self.details = state, runner, details
        self.measuring: int | None = None  # the distill run whose cloze scores a task is measuring
        self._measured: set[tuple[int, int | None]] = set()  # (run id, student step) measured in this session
        self._cloze_errors: dict[int, str] = {}  # run id -> why its cloze score could not be measured
        self._progress = (0, 0)  # (models done, models to measure) of the measuring task

    def show(self, run: RunRecord | None) -> None:
        """`run`'s scores beside its teacher's (nothing for a run that is no distill run); missing cloze scores
        are measured in the background."""
        if run is None or run.kind != "distill":
            self.details.show_scores(None)
            return
        try:
            scores = distill_scores(self.state.workspace, run).with_cloze_errors(self._cloze_errors)
        except StoreError as error:
            self.details.show_scores([f"Could not read the scores: {error}"])
            return
        key = (run.id, scores.student.step)
        if scores.unmeasured() and self.measuring is None and key not in self._measured \
                and run.status not in LIVE_STATUSES:
            self._measure(key, len(scores.unmeasured()))
        measuring = self.measuring == run.id
        self.details.show_scores(score_lines(scores, measuring), self._progress if measuring else None)

    def _measure(self, key: tuple[int, int | None], total: int) -> None:
        run_id, home = key[0], self.state.home
        task = Task("measuring cloze scores", lambda task: in_workspace(
            home, measure_cloze, run_id, progress=lambda done, all_: task.report("models", done, all_)))
        task.progress.connect(self._on_progress)
        task.succeeded.connect(self._on_measured)
        task.failed.connect(self._on_failed)
        task.done.connect(self._on_done)
        self.measuring, self._progress = run_id, (0, total)
        self._measured.add(key)
        self.runner.start(task)

    def _shown_id(self) -> int | None:
        return None if self.details.shown is None else self.details.shown.id

    @Slot(str, int, object)
    def _on_progress(self, stage: str, done: int, total: object) -> None:
        self._progress = (done, int(total or 0))
        if self.measuring == self._shown_id():
            self.details.show_scores(self.details.scores.text().splitlines(), self._progress)

    @Slot(object)
    def _on_measured(self, scores: DistillScores) -> None:
        for model in (scores.student, scores.teacher):
            if model.cloze_error is not None and model.run_id is not None:
                self._cloze_errors[model.run_id] = model.cloze_error

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        run = self.state.store.get_run(self.measuring) if self.measuring is not None else None
        teacher = (run.config.get("distill", {}).get("teacher", {}) if run else {}).get("run_id")
        for run_id in (self.measuring, teacher):
            if run_id is not None:
                self._cloze_errors.setdefault(run_id, message)

    @Slot()
    def _on_done(self) -> None:
        self.measuring = None
        shown = self._shown_id()
        self.show(None if shown is None else self.state.store.get_run(shown))
