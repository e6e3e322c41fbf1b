"""A distilled student's scores beside its teacher's: the bundled cloze suite (precision@1 and MRR) at the
student's latest checkpoint and at the teacher checkpoint it learned from, and the best fine-tuning score of each
model (fine-tuning runs whose base is it, the best per task and training file). The Runs panel, `runs show` and
its `--json` report these.

Reading (`distill_scores`) touches only the store: cloze scores are the probe-suite results already recorded
(`jobs.probe.run_probe_suite` stores them per run, step and suite version). `measure_cloze` evaluates the suite
where a result is missing and records it, as `probe-suite` would.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import ensure_cloze_suite
from workbench.store.runstore import RunRecord

MAIN_METRICS = {"classify": "accuracy", "tag": "f1", "qa": "f1"}  # what a fine-tuning run's best epoch maximises


@dataclass(frozen=True)
class ClozeScore:
    precision_at_1: float
    mrr: float
    items: int


@dataclass(frozen=True)
class FinetuneBest:
    """A model's best fine-tuning score on one task and training file: its main metric, on the test file when
    the run had one, else on validation (which also chose the epoch)."""

    task: str
    train_file: str  # the file's name
    metric: str
    value: float
    split: str  # "test" or "validation"
    run_id: int
    run_name: str


@dataclass(frozen=True)
class ModelScores:
    """One model of the pair: a run at one checkpoint step, its cloze score there (None: not measured yet, or
    `cloze_error` says why it cannot be) and its best fine-tuning scores ([] none yet)."""

    run_id: int | None
    name: str
    step: int | None
    cloze: ClozeScore | None = None
    cloze_error: str | None = None
    finetune: list[FinetuneBest] = field(default_factory=list)


@dataclass(frozen=True)
class DistillScores:
    suite: str  # the cloze suite's file name
    student: ModelScores
    teacher: ModelScores

    def unmeasured(self) -> list[ModelScores]:
        """The models whose cloze score is missing but can be measured."""
        return [m for m in (self.student, self.teacher)
                if m.cloze is None and m.cloze_error is None and m.run_id is not None]

    def with_cloze_errors(self, errors: dict[int, str]) -> DistillScores:
        """These scores with the reasons (by run id) why a model's cloze score could not be measured."""
        def noted(model: ModelScores) -> ModelScores:
            error = errors.get(model.run_id) if model.cloze is None else None
            return model if error is None else replace(model, cloze_error=error)

        return replace(self, student=noted(self.student), teacher=noted(self.teacher))

    def to_dict(self) -> dict:
        return asdict(self)


def cloze_suite(ws: Workspace) -> tuple[Path, str]:
    """The bundled cloze suite and the sha256 of its bytes (the version its results are stored under)."""
    path = ensure_cloze_suite(ws.home / "sample")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _cloze(ws: Workspace, run_id: int, step: int, suite_sha256: str) -> ClozeScore | None:
    results = [r for r in ws.store.probe_results(run_id, suite_sha256) if r.checkpoint_step == step]
    if not results:
        return None
    overall = results[-1].metrics["overall"]
    return ClozeScore(overall["precision_at_1"], overall["mrr"], int(results[-1].metrics["n_items"]))


def finetune_bests(ws: Workspace, base_id: int) -> list[FinetuneBest]:
    """The best score of the fine-tuning runs from `base_id`, one per (task, training file) in that order; of
    equal scores the older run's."""
    best: dict[tuple[str, str], FinetuneBest] = {}
    for run in sorted(ws.store.list_runs(kind="finetune"), key=lambda r: r.id):
        task, result = run.config.get("task"), run.config.get("result") or {}
        if run.parent_run_id != base_id or task not in MAIN_METRICS:
            continue
        split, metrics = ("test", result["test_metrics"]) if result.get("test_metrics") \
            else ("validation", result.get("best_metrics") or {})
        metric = MAIN_METRICS[task]
        if metric not in metrics:
            continue
        score = FinetuneBest(task, Path(run.config["data"]["train"]).name, metric, float(metrics[metric]), split,
                             run.id, run.name)
        key = (score.task, score.train_file)
        if key not in best or score.value > best[key].value:
            best[key] = score
    return sorted(best.values(), key=lambda s: (s.task, s.train_file))


def _model_scores(ws: Workspace, run_id: int | None, name: str, step: int | None, suite_sha256: str) -> ModelScores:
    if run_id is None or ws.store.get_run(run_id) is None:
        return ModelScores(None, name, step, cloze_error="the run was deleted")
    if step is None:
        return ModelScores(run_id, name, None, cloze_error="no checkpoint yet", finetune=finetune_bests(ws, run_id))
    return ModelScores(run_id, name, step, _cloze(ws, run_id, step, suite_sha256),
                       finetune=finetune_bests(ws, run_id))


def distill_scores(ws: Workspace, run: RunRecord) -> DistillScores:
    """What is recorded of a distill run's and its teacher's scores (the store only; nothing is evaluated)."""
    path, sha256 = cloze_suite(ws)
    latest = ws.store.latest_checkpoint(run.id)
    teacher = run.config.get("distill", {}).get("teacher", {})
    return DistillScores(path.name,
                         _model_scores(ws, run.id, run.name, None if latest is None else latest.step, sha256),
                         _model_scores(ws, teacher.get("run_id"), teacher.get("name", "?"), teacher.get("step"),
                                       sha256))


def measure_cloze(ws: Workspace, run_id: int, progress: Callable[[int, int], None] | None = None,
                  device: str = "cpu") -> DistillScores:
    """Evaluate the cloze suite on the student and the teacher where no result is stored, record the results,
    and return the scores; `progress(done, total)` after each model. A model that cannot be loaded (its files
    gone) gets its reason in `cloze_error` instead."""
    from workbench.jobs.probe import run_probe_suite  # torch loads here, not with the Runs panel

    scores = distill_scores(ws, ws.store.get_run(run_id))
    missing = scores.unmeasured()
    errors: dict[int, str] = {}
    for done, model in enumerate(missing, start=1):
        try:
            run_probe_suite(ws, model.run_id, cloze_suite(ws)[0], step=model.step, device=device)
        except UserError as error:
            errors[model.run_id] = str(error)
        if progress is not None:
            progress(done, len(missing))
    return distill_scores(ws, ws.store.get_run(run_id)).with_cloze_errors(errors)


# ---- the lines the Runs panel and `runs show` print ----------------------------------------------------------


def _cloze_text(model: ModelScores, measuring: bool) -> str:
    if model.cloze is not None:
        return f"precision@1 {model.cloze.precision_at_1:.3f}, MRR {model.cloze.mrr:.3f}"
    if model.cloze_error is not None:
        return f"cannot be measured ({model.cloze_error})"
    return "measuring ..." if measuring else "not measured yet"


def _finetune_text(score: FinetuneBest | None) -> str:
    if score is None:
        return "none yet"
    return f"{score.metric} {score.value:.4f} ({score.split}, run {score.run_name})"


def score_lines(scores: DistillScores, measuring: bool = False) -> list[str]:
    """The student's cloze and fine-tuning scores, each with the teacher's beside it (in the words of the lines
    above them: "Best val loss 4.85 · the teacher's 4.79 at its step 200"); `measuring` says the missing cloze
    scores are being evaluated now."""
    student, teacher = scores.student, scores.teacher
    items = next((m.cloze.items for m in (student, teacher) if m.cloze is not None), None)
    suite = scores.suite + (f", {items} items" if items else "")
    lines = [f"Cloze {_cloze_text(student, measuring)} · the teacher's {_cloze_text(teacher, measuring)} at its "
             f"step {teacher.step} ({suite})"]
    ours = {(s.task, s.train_file): s for s in student.finetune}
    theirs = {(s.task, s.train_file): s for s in teacher.finetune}
    for key in sorted(ours.keys() | theirs.keys()):
        lines.append(f"Fine-tune {key[0]} {key[1]}: {_finetune_text(ours.get(key))} · the teacher's "
                     f"{_finetune_text(theirs.get(key))}")
    if not ours and not theirs:
        lines.append("Fine-tune: none yet · the teacher's none yet")
    return lines
