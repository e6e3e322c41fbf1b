"""Looking at recorded runs side by side, without Qt: flattening nested configs into dotted keys, the settings
two runs differ in, which runs can be resumed, the Runs panel's search rule, and the short texts it shows for a
run. The GUI only turns these into widgets; the curves are `views.curves.load_curves`, the CSV export
`jobs.metrics_csv`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from workbench.core.model_config import count_parameters
from workbench.jobs.finetune_scores import run_score_lines
from workbench.settings.model import BertConfig


from workbench.settings.recipes import recipe_text
from workbench.settings.train import LOSS_COUNTS
from workbench.views.curves import RunCurves, Series
from workbench.store.runstore import RunRecord

# A stopped, interrupted or failed pretraining run can go on from its last checkpoint; a diverged one would
# diverge again and a completed one needs more steps (the CLI's `resume --steps`).
RESUMABLE_STATUSES = frozenset({"stopped", "interrupted", "failed"})


class _Missing:
    """The value of a setting that one of two compared configs does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class ConfigDifference:
    key: str  # dotted, e.g. "train.lr"
    left: Any  # MISSING where the left config lacks the key
    right: Any


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"train": {"lr": 5e-4}}` -> `{"train.lr": 5e-4}`, in the config's own order; lists and empty dicts are
    leaves (a list such as adam_betas is one setting)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name + "."))
        else:
            flat[name] = value
    return flat


def _same(left: Any, right: Any) -> bool:
    # True == 1 and 1 == 1.0 in Python, but a setting that changed type did change
    return type(left) is type(right) and left == right


def config_diff(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[ConfigDifference]:
    """The flattened settings whose values differ (or exist in one config only), left's order first."""
    a, b = flatten_config(left), flatten_config(right)
    keys = list(a) + [key for key in b if key not in a]
    differences = []
    for key in keys:
        left_value, right_value = a.get(key, MISSING), b.get(key, MISSING)
        if not _same(left_value, right_value):
            differences.append(ConfigDifference(key, left_value, right_value))
    return differences


def format_value(value: Any) -> str:
    """A setting as one line of text: strings as they are, the rest as JSON (true, null, [0.9, 0.999])."""
    if value is MISSING:
        return "(not set)"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def can_resume(run: RunRecord, has_checkpoint: bool) -> bool:
    """Whether `resume` can continue this run: a pretraining or fine-tuning run that ended early and left a
    checkpoint."""
    return run.kind in ("pretrain", "finetune", "distill") and run.status in RESUMABLE_STATUSES and has_checkpoint


def run_matches(run: RunRecord, text: str = "", status: str | None = None) -> bool:
    """The Runs panel's filter: `status` exactly (None: any), and every word of `text` found in the run's name,
    status or one of its tags (case-insensitive)."""
    if status is not None and run.status != status:
        return False
    haystack = " ".join([run.name, run.status, *run.tags]).casefold()
    return all(word in haystack for word in text.casefold().split())


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags as a list: stripped, empty ones dropped, duplicates kept once (first wins)."""
    tags: list[str] = []
    for part in text.split(","):
        tag = part.strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


# ---- short texts about a run ----------------------------------------------------------------------------------


def local_time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone().strftime("%Y-%m-%d %H:%M")


def loss_text(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.4f}"


def steps_text(run: RunRecord) -> str:
    """The last recorded step out of the steps asked for: `120 / 1000` (`-` before the first point)."""
    total = run.config.get("train", {}).get("steps")
    step = "-" if run.last_step is None else str(run.last_step)
    return f"{step} / {total}" if total else step


def human_size(size: int) -> str:
    """Bytes in decimal units: `980 B`, `1.7 MB`."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB", "GB"):
        if value < 1000:
            return f"{value:,.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} TB"


def metrics_text(metrics: Mapping[str, Any] | None) -> str:
    """A checkpoint's metrics on one line: `val_loss 3.214, val_accuracy 0.4127`."""
    return ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in (metrics or {}).items())


def _times(value: float, teacher: float) -> str:
    return f"{value / teacher:.2g}x" if teacher else "-"


def distill_lines(run: RunRecord) -> list[str]:
    """A distill run beside its teacher: which run taught it and how, the two sizes, the two inference speeds
    (measured together at the end of training) and the two validation losses."""
    entry = run.config.get("distill", {})
    teacher, settings, speed = entry.get("teacher", {}), entry.get("settings", {}), entry.get("speed")
    student_size = count_parameters(BertConfig.from_dict(run.config["model"]))
    teacher_size = teacher.get("parameters", 0)
    lines = [f"Teacher: run {teacher.get('name')} (id {teacher.get('run_id')}) at step {teacher.get('step')} · "
             f"temperature {settings.get('temperature')}, alpha {settings.get('alpha')}",
             f"Size: {student_size:,} parameters, {_times(student_size, teacher_size)} the teacher's {teacher_size:,}"]
    if speed:
        student_speed, teacher_speed = speed["student_tokens_per_second"], speed["teacher_tokens_per_second"]
        lines.append(f"Speed reading {speed['batch'][0]} x {speed['batch'][1]} tokens on {speed['device']}: "
                     f"{student_speed:,.0f} tokens/s, {_times(student_speed, teacher_speed)} the teacher's "
                     f"{teacher_speed:,.0f}")
    lines.append(f"Best val loss {loss_text(run.best_val_loss)} · the teacher's {loss_text(teacher.get('val_loss'))} "
                 f"at its step {teacher.get('step')}")
    return lines


def run_objective(run: RunRecord) -> str:
    """What a pretraining run learned: mlm, clm or electra (runs from before the setting trained mlm)."""
    return run.config.get("train", {}).get("objective", "mlm")


def comparison_series(run: RunRecord, curves: RunCurves) -> tuple[str, RunCurves]:
    """A run as the comparison chart draws it: its name, with its objective when that is not masked LM, and its
    curves. An ELECTRA run keeps only its validation curve (the generator's masked-LM loss, comparable): its
    training loss adds disc_weight x the discriminator's and would squeeze the other runs' curves flat."""
    objective = run_objective(run) if run.kind == "pretrain" else "mlm"
    if objective == "electra":
        curves.series["train_loss"] = Series()
    return (run.name if objective == "mlm" else f"{run.name} ({objective})"), curves


def loss_notes(runs: list[RunRecord]) -> str:
    """What each loss counts, for overlaid runs of more than one objective ("" when they share one)."""
    objectives = list(dict.fromkeys(run_objective(run) for run in runs if run.kind == "pretrain"))
    if len(objectives) < 2:
        return ""
    return " ".join(f"{objective.upper()}: {LOSS_COUNTS[objective]}." for objective in objectives)


def describe_run(run: RunRecord) -> str:
    """A few lines about a run: what it is, what it trained on, when, its scores with their baselines (a
    fine-tuning run), its teacher beside it (a distill run), and why it ended if it failed."""
    data = run.config.get("data", {})
    lines = [
        f"Run {run.id} · {run.kind} · {run.status} · preset {run.preset or '-'} · {run.device or 'device unknown'}",
        f"Corpus {data.get('corpus', '-')} · tokenizer {run.tokenizer_id or '-'} · step {steps_text(run)} · "
        f"best val loss {loss_text(run.best_val_loss)}",
        f"Created {local_time(run.created_at)} · started {local_time(run.started_at)} · "
        f"ended {local_time(run.ended_at)}",
    ]
    if run.kind == "pretrain":
        objective = run_objective(run)
        lines.append(f"Objective {objective} · {LOSS_COUNTS[objective]}")
        lines.append(f"Recipe {recipe_text(run.config.get('recipe'))}")
    if run.kind == "finetune":
        lines += run_score_lines(run.config)
    if run.kind == "distill":
        lines += distill_lines(run)
    if run.error:
        lines.append(f"Error: {run.error}")
    return "\n".join(lines)
