"""The lines that report a fine-tuning run's scores, every score with the trivial baseline's on the same data
beside it (majority class, all `O`, always no answer: `tasks.*.baseline`). The validation score is labelled as
the one that chose the epoch; the test score, scored once with that epoch, follows when there is a test file, and
without one a note says that the only score shown also chose the epoch. A QA run's no-answer threshold is named as
learned on validation, and the run's warnings (`warnings` in its config) close the list. The CLI summary, the
Fine-tune panel and the Runs panel show these same lines.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from workbench.core.finetune.tasks import ClassifyTask, QATask, TagTask

BASELINE_NAMES = {task.name: task.baseline_name for task in (ClassifyTask, TagTask, QATask)}
VALIDATION_LABEL = "validation (chose the epoch)"
TEST_LABEL = "test"
NO_TEST_NOTE = ("no test file: the validation score also chose the epoch, so it is optimistic; "
                "give a test file for a score that did not")


def score_line(metrics: Mapping[str, float], baseline: Mapping[str, float], baseline_name: str) -> str:
    """`accuracy 0.8500 (majority class 0.5000), macro_f1 ...`: every score and the baseline's, counts left out."""
    parts = []
    for key, value in metrics.items():
        if key == "null_threshold":
            parts.append(f"no-answer threshold {value:.4f} (learned on validation)")
            continue
        if key.endswith("total"):
            continue
        floor = baseline.get(key)
        parts.append(f"{key} {value:.4f}" + (f" ({baseline_name} {floor:.4f})" if floor is not None else ""))
    return ", ".join(parts)


def score_lines(task: str, validation: Mapping[str, float], test: Mapping[str, float] | None,
                baselines: Mapping[str, Mapping[str, float]], warnings: Sequence[str] = ()) -> list[str]:
    """The labelled score lines of a run: validation, then test or the note that there is none, then the
    warnings ([] before any epoch was scored)."""
    if not validation:
        return []
    name = BASELINE_NAMES[task]
    lines = [f"{VALIDATION_LABEL}: {score_line(validation, baselines.get('validation', {}), name)}"]
    if test:
        lines.append(f"{TEST_LABEL}: {score_line(test, baselines.get('test', {}), name)}")
    else:
        lines.append(NO_TEST_NOTE)
    return lines + [f"warning: {w}" for w in warnings]


def run_score_lines(config: Mapping) -> list[str]:
    """`score_lines` of a recorded fine-tuning run, from what its config stores under `result` ([] for a run
    recorded without its task or scores)."""
    result = config.get("result") or {}
    if config.get("task") not in BASELINE_NAMES:
        return []
    return score_lines(config["task"], result.get("best_metrics") or {}, result.get("test_metrics"),
                       result.get("baselines") or {}, config.get("warnings") or ())
