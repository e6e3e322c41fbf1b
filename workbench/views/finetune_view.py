"""What the Fine-tune panel needs besides widgets: choices, the fine-tune + baseline job, curves, and the texts
and colours it shows. No Qt here, so all of it is tested with plain pytest.

`run_with_baseline` is the panel's background job: the fine-tune, then (when asked, and unless stopped) the
scratch baseline with identical settings and data (`scratch_like` the same pretraining run: its architecture and
tokenizer, random weights). Events reach the caller as `(arm, event)` with arm "finetune" or "baseline", so
one listener can draw both curves. `ArmCurves` buffers one arm's training loss and per-epoch validation metric.
The HTML helpers escape every user text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Sequence

from workbench.core.finetune.trainer import EpochEvent, FinetuneResult
from workbench.core.training_types import StepEvent
from workbench.jobs.finetune import predict
from workbench.jobs.finetune_scores import score_lines
from workbench.jobs.workspace import Workspace
from workbench.settings.model import PRESETS
from workbench.store.records import CheckpointRecord, RunRecord
from workbench.store.runstore import RunStore
from workbench.views.probe_views import probe_runs

TASK_TITLES = {"classify": "Classify sentences (CSV / TSV / JSONL)", "tag": "Tag entities (CoNLL, IOB2)",
               "qa": "Answer questions (SQuAD JSON)"}
MAIN_METRIC = {"classify": ("accuracy", "accuracy"), "tag": ("f1", "entity F1"), "qa": ("f1", "token F1")}
# Entity colours: light enough for black text (Tableau 10, lightened).
ARMS = ("finetune", "baseline")  # the fine-tune and its scratch baseline (jobs.baseline), in drawing order
ENTITY_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d")


@dataclass(frozen=True)
class BaseModel:
    """A pretraining checkpoint to fine-tune: `reference` is what `FinetuneSpec.from_run` takes; `recommended`:
    the one a new fine-tune starts from unless the user picks another."""

    label: str
    reference: str
    run_id: int
    step: int
    recommended: bool = False
    hidden_size: int | None = None  # for the learning rate by the model's size; None: not known here


def base_models(store: RunStore) -> list[BaseModel]:
    """Every checkpoint of every pretraining or imported run, newest run first and its latest checkpoint first.
    Recommended: the newest finished pretraining run (else finished import, else the newest run) at its best
    checkpoint (the lowest validation loss recorded with a checkpoint, else its latest)."""
    runs = probe_runs(store)
    finished = [run for run in runs if run.status == "completed"]
    chosen = next((run for run in finished if run.kind == "pretrain"), finished[0] if finished else
                  runs[0] if runs else None)
    found = []
    for run in runs:
        checkpoints = store.checkpoints(run.id)
        best = _best_checkpoint(checkpoints) if run is chosen else None
        for checkpoint in reversed(checkpoints):
            recommended = checkpoint is best
            found.append(BaseModel(f"{run.name} · step {checkpoint.step:,} ({run.preset or 'custom'}, {run.status})"
                                   + (" · recommended" if recommended else ""),
                                   f"{run.id}:{checkpoint.step}", run.id, checkpoint.step, recommended,
                                   _hidden_size(run)))
    return found


def _hidden_size(run: RunRecord) -> int | None:
    model = run.config.get("model") if isinstance(run.config.get("model"), dict) else {}
    return model.get("hidden_size") or PRESETS.get(run.preset or "", {}).get("hidden_size")


def _best_checkpoint(checkpoints: Sequence[CheckpointRecord]) -> CheckpointRecord:
    scored = [c for c in checkpoints if isinstance((c.metrics or {}).get("val_loss"), (int, float))]
    return min(scored, key=lambda c: c.metrics["val_loss"]) if scored else checkpoints[-1]


def guess_columns(columns: Sequence[str]) -> tuple[str, str | None, str]:
    """(text, text pair or None, label) column guesses: "label" and "text"/"sentence" names first."""
    lower = [c.lower() for c in columns]
    label = next((columns[i] for i, c in enumerate(lower) if c in ("label", "labels", "class", "target")),
                 columns[-1])
    rest = [c for c in columns if c != label]
    text = next((c for c in rest if c.lower() in ("text", "sentence", "sentence1", "question1")), rest[0] if rest
                else label)
    pair = next((c for c in rest if c.lower() in ("text_pair", "sentence2", "question2", "hypothesis")), None)
    return text, pair, label


@dataclass
class ArmCurves:
    """One arm's curves: training loss per step, and the validation main metric per epoch."""

    metric: str
    loss_steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    metric_steps: list[int] = field(default_factory=list)
    metric_values: list[float] = field(default_factory=list)
    version: int = 0

    def add(self, event: object) -> bool:
        """Take a StepEvent or EpochEvent; True when the curves changed."""
        if isinstance(event, StepEvent):
            self.loss_steps.append(event.step)
            self.loss.append(event.loss)
        elif isinstance(event, EpochEvent):
            self.metric_steps.append(event.step)
            self.metric_values.append(event.metrics[self.metric])
        else:
            return False
        self.version += 1
        return True


# ---- what the panel shows ---------------------------------------------------------------------------------


def predict_arms(ws: Workspace, runs: dict[str, int], text: str, text_pair: str | None = None,
                 context: str | None = None) -> dict[str, dict]:
    """The try-it box's question to each arm's run ({arm: run id}): {arm: `predict`'s answer}."""
    return {arm: predict(ws, run_id, text, text_pair=text_pair, context=context) for arm, run_id in runs.items()}


def heat_colour(value: float, maximum: float) -> str:
    """White to dark blue by value / maximum (a confusion-matrix cell)."""
    share = value / maximum if maximum > 0 else 0.0
    low, high = (255, 255, 255), (31, 119, 180)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high))
    return f"#{r:02x}{g:02x}{b:02x}"


def score_rows(details: dict) -> list[tuple[str, float, float, float, int]]:
    """(name, precision, recall, F1, support) per class (classify) or entity type (tag)."""
    table = details.get("per_class") or details.get("per_type") or {}
    return [(name, m["precision"], m["recall"], m["f1"], int(m["support"])) for name, m in table.items()]


def arm_names(pretrained: bool) -> dict[str, str]:
    """What the curves' legends and the try-it box call each arm; the fine-tune says where it started (a
    baseline runs only next to a fine-tune from a pretraining run)."""
    return {"finetune": "from pretrained" if pretrained else "from scratch", "baseline": "from scratch"}


def result_text(task: str, result: FinetuneResult, arm: str, pretrained: bool = True) -> str:
    """How a run ended and its best validation metric (`pretrained`: the fine-tune's start), then its scores
    with their baselines: validation (which chose the epoch) and test, or a note that there is no test file."""
    key, title = MAIN_METRIC[task]
    if arm == "baseline":
        who = "Scratch baseline"
    else:
        who = "Fine-tune from the pretrained model" if pretrained else "Fine-tune from scratch"
    if not result.best_metrics:
        return f"{who}: {result.status}" + (f" ({result.message})" if result.message else "")
    lines = score_lines(task, result.best_metrics, result.test_metrics, result.baselines, result.warnings)
    return "\n".join([f"{who}: {result.status} after {result.steps:,} steps; best {title} "
                      f"{result.best_metrics[key]:.1%} (epoch {result.best_epoch})", *(f"  {x}" for x in lines)])


def summary_html(task: str, results: dict[str, FinetuneResult], pretrained: bool = True) -> str:
    """Every arm's `result_text` ({arm: result}, in ARMS order), escaped, a line break a <br>."""
    texts = (html.escape(result_text(task, results[arm], arm, pretrained)) for arm in ARMS if arm in results)
    return "<br>".join(text.replace("\n", "<br>") for text in texts)


def probabilities_html(probabilities: dict[str, float]) -> str:
    """The predicted label in bold and a bar per label, most probable first."""
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])
    rows = "".join(
        f"<tr><td>{html.escape(label)}&nbsp;</td><td><span style='background:#1f77b4'>"
        f"{'&nbsp;' * max(1, round(p * 40))}</span> {p:.1%}</td></tr>" for label, p in ranked)
    return f"<b>{html.escape(ranked[0][0])}</b><table>{rows}</table>"


def entity_colour(entity_type: str, types: Sequence[str]) -> str:
    index = list(types).index(entity_type) if entity_type in types else len(types)
    return ENTITY_COLOURS[index % len(ENTITY_COLOURS)]


def tagged_html(words: Sequence[str], entities: Sequence[dict], types: Sequence[str]) -> str:
    """The words with each entity on a coloured background and its type after it; a legend of the types."""
    starts = {e["start"]: e for e in entities}
    parts, i = [], 0
    while i < len(words):
        entity = starts.get(i)
        if entity is None:
            parts.append(html.escape(words[i]))
            i += 1
            continue
        text = html.escape(" ".join(words[entity["start"]: entity["end"] + 1]))
        parts.append(f"<span style='background:{entity_colour(entity['type'], types)}'>&nbsp;{text}&nbsp;"
                     f"<sub>{html.escape(entity['type'])}</sub></span>")
        i = entity["end"] + 1
    legend = " ".join(f"<span style='background:{entity_colour(t, types)}'>&nbsp;{html.escape(t)}&nbsp;</span>"
                      for t in types)
    found = "" if entities else "<br><i>no entities found</i>"
    return f"<p style='line-height:150%'>{' '.join(parts)}</p>{found}<p>{legend}</p>"


def answer_html(context: str, answer: str) -> str:
    """The context with the answer's first occurrence highlighted (or a note that there is no answer)."""
    at = context.find(answer) if answer else -1
    if at < 0:
        note = "no answer in this passage" if not answer else f"answer: {answer}"
        return f"<p><b>{html.escape(note)}</b></p><p>{html.escape(context)}</p>"
    before, after = context[:at], context[at + len(answer):]
    return (f"<p><b>Answer:</b> {html.escape(answer)}</p><p>{html.escape(before)}"
            f"<span style='background:#ffdd57'><b>{html.escape(answer)}</b></span>{html.escape(after)}</p>")


def entity_types(labels: Sequence[str]) -> list[str]:
    """The entity types of IOB2 labels, in label order."""
    return list(dict.fromkeys(label[2:] for label in labels if label[:2] in ("B-", "I-")))
