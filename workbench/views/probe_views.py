"""What the Probe panel shows, computed without Qt: which runs can be probed, the tokens of a text with their
character spans (so a click on a word masks all its pieces), fill-mask and scoring on one or two models at once,
the steps of filling in order, colours for attention heatmaps and per-token contributions, the lines of a
bertviz-style head view, probe-suite tables and a cancellable suite evaluation (CSV export: `probe_export`).

The panel's widgets only draw these results; every number here comes from `workbench.core.probing` unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from workbench.core.probing import (
    FillMaskResult,
    InOrderResult,
    SentenceScore,
    score_sentences,
    word_spans,
)
from workbench.core.probing.encoding import MASK_MARKER
from workbench.core.probing.suites import DEFAULT_TOP_K
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.demo_model import is_demo_run
from workbench.jobs.probe import ProbeModel, load_probe_model, run_probe_suite
from workbench.jobs.workspace import Workspace
from workbench.store.probe_results import ProbeResultRecord, metric_series
from workbench.store.runstore import CheckpointRecord, RunRecord, RunStore

# Heatmap colours: white (no attention) to a deep blue (all of it), as in bertviz and most papers.
HEAT_LOW = np.array([255, 255, 255], dtype=np.float32)
HEAT_HIGH = np.array([8, 48, 107], dtype=np.float32)
# Token contributions: log-probabilities from SURPRISING_LOG_PROB (red) to 0 (green), through yellow.
SURPRISING_LOG_PROB = -8.0
CONTRIBUTION_STOPS = ((0.0, (215, 48, 39)), (0.5, (254, 224, 139)), (1.0, (26, 152, 80)))
METRIC_NAMES = {"precision_at_1": "precision@1", "precision_at_k": "precision@k", "mrr": "MRR"}


# ---- runs and checkpoints --------------------------------------------------------------------------------------

MODEL_KINDS = ("pretrain", "imported", "distill")  # runs whose checkpoints are masked-LM models: trained here
# (a distilled student too) or imported


def probe_runs(store: RunStore) -> list[RunRecord]:
    """Pretraining and imported runs with at least one checkpoint, newest first, the bundled demo model last: the
    runs a user can probe; the first is the one the panel opens on (the demo only where the user has none)."""
    runs = [run for run in store.list_runs() if run.kind in MODEL_KINDS and store.checkpoints(run.id)]
    return sorted(runs, key=is_demo_run)  # stable: newest first within the user's runs


def load_models(ws: Workspace, choices: Sequence[tuple[int, int]], precision: str = "fp32") -> list[ProbeModel]:
    """The models of the chosen (run id, checkpoint step) pairs, in order, with their weights in `precision`
    (from the model cache when loaded before)."""
    return [load_probe_model(ws, run_id, step, precision=precision) for run_id, step in choices]


def checkpoint_label(checkpoint: CheckpointRecord) -> str:
    """'step 2,000 · val loss 3.21' (the validation loss when the checkpoint recorded one)."""
    loss = (checkpoint.metrics or {}).get("val_loss")
    suffix = f" · val loss {loss:.3f}" if isinstance(loss, (int, float)) and math.isfinite(loss) else ""
    return f"step {checkpoint.step:,}{suffix}"


# ---- texts, tokens and click-to-mask ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TextToken:
    index: int  # position in [CLS] ... [SEP]
    token: str
    start: int  # character span in the text; [CLS] and [SEP] are empty spans at its ends
    end: int
    word: int | None  # index of the word it belongs to; None for special tokens
    is_mask: bool


def _with_model_masks(tokenizer: WorkbenchTokenizer, text: str) -> str:
    # "[MASK]" and "<mask>" are both 6 characters, so the character offsets still point into the user's text.
    return text.replace(MASK_MARKER, tokenizer.mask_token) if tokenizer.mask_token != MASK_MARKER else text


def text_tokens(tokenizer: WorkbenchTokenizer, text: str) -> list[TextToken]:
    """The tokens the model reads for `text` (`[CLS]` first, `[SEP]` last) with their character spans and words."""
    encoding = tokenizer.tokenizer.encode(_with_model_masks(tokenizer, text), add_special_tokens=False)
    ids = [tokenizer.cls_id, *encoding.ids, tokenizer.sep_id]
    spans = [(0, 0), *encoding.offsets, (len(text), len(text))]
    word_of = {p: w for w, (start, end) in enumerate(word_spans(tokenizer, ids)) for p in range(start, end)}
    names = [tokenizer.id_to_token(i) or f"<{i}>" for i in ids]
    return [TextToken(p, names[p], spans[p][0], spans[p][1], word_of.get(p), ids[p] == tokenizer.mask_id)
            for p in range(len(ids))]


def mask_word_at(
    tokenizer: WorkbenchTokenizer, text: str, char_pos: int | None = None, token_index: int | None = None
) -> str:
    """`text` with the word under character `char_pos` (or holding token `token_index`) replaced by one
    `[MASK]` per piece, as `workbench.core.probing.mask_word` does to ids. Clicking a mask or a gap changes nothing."""
    tokens = text_tokens(tokenizer, text)
    if token_index is None and char_pos is not None:
        words = [t for t in tokens if t.word is not None]
        # Inside a token first; else the token the position ends (a click just after a word's last letter).
        inside = [t for t in words if t.start <= char_pos < t.end] or [t for t in words if t.end == char_pos]
        token_index = inside[0].index if inside else None
    if token_index is None or not 0 <= token_index < len(tokens) or tokens[token_index].word is None:
        return text
    pieces = [t for t in tokens if t.word == tokens[token_index].word]
    if all(t.is_mask for t in pieces):
        return text
    start, end = pieces[0].start, pieces[-1].end
    return text[:start] + MASK_MARKER * len(pieces) + text[end:]


def parse_targets(text: str) -> list[str] | None:
    """Comma- or space-separated target words; None when there are none (predict over the whole vocabulary)."""
    words = [w for w in text.replace(",", " ").split() if w]
    return words or None


def parse_lines(text: str) -> list[str]:
    """The non-empty lines of a text box, stripped: one sentence each."""
    return [line.strip() for line in text.splitlines() if line.strip()]


# ---- computations on one or two models ---------------------------------------------------------------------------

def fill_for_models(models: Sequence[ProbeModel], text: str, top_k: int, targets: Sequence[str] | None,
                    in_order: bool) -> list[FillMaskResult | InOrderResult]:
    """Fill-mask (or fill in order) of the same text on each model; a text too long for one model is refused."""
    return [p.fill(text, top_k, targets, in_order) for p in models]


def score_for_models(models: Sequence[ProbeModel], sentences: Sequence[str], method: str) -> list[list[SentenceScore]]:
    """The same sentences scored and ranked on each model."""
    return [score_sentences(p.model, p.tokenizer, list(sentences), method) for p in models]


def fill_charts(result: FillMaskResult | InOrderResult) -> list[tuple[str, list[tuple[str, float]]]]:
    """The bar charts of one model's result: (title, [(token, probability)]), one per mask or filling step."""
    if isinstance(result, FillMaskResult):
        return [(f"[MASK] {n} (token {mask.position})", [(p.token, p.probability) for p in mask.predictions])
                for n, mask in enumerate(result.masks, start=1)]
    charts = []
    for n, (step, tokens) in enumerate(zip(result.steps, in_order_snapshots(result)), start=1):
        sentence = " ".join(tokens[1:-1]).replace(" ##", "")
        title = f"step {n}: token {step.position} ← {step.chosen.token}  ·  {sentence}"
        charts.append((title, [(p.token, p.probability) for p in step.candidates]))
    return charts


def in_order_snapshots(result: InOrderResult) -> list[list[str]]:
    """The tokens after each filling step (masks not yet filled stay masks)."""
    tokens = list(result.tokens)
    snapshots = []
    for step in result.steps:
        tokens[step.position] = step.chosen.token
        snapshots.append(list(tokens))
    return snapshots


# ---- colours and geometry -----------------------------------------------------------------------------------------

def heat_colours(values: np.ndarray, vmax: float | None = None) -> np.ndarray:
    """RGB (..., 3) uint8 for attention values in [0, vmax] (default: their maximum), white to deep blue."""
    values = np.asarray(values, dtype=np.float32)
    top = float(values.max()) if vmax is None and values.size else (vmax or 1.0)
    scaled = np.clip(values / (top if top > 0 else 1.0), 0.0, 1.0)[..., None]
    return np.round(HEAT_LOW + (HEAT_HIGH - HEAT_LOW) * scaled).astype(np.uint8)


def contribution_colour(log_prob: float) -> str:
    """'#rrggbb' for a token's log-probability: red when the model found it surprising, green when expected."""
    x = min(max(1.0 - log_prob / SURPRISING_LOG_PROB, 0.0), 1.0) if math.isfinite(log_prob) else 0.0
    for (x0, c0), (x1, c1) in zip(CONTRIBUTION_STOPS, CONTRIBUTION_STOPS[1:]):
        if x <= x1:
            t = (x - x0) / (x1 - x0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in CONTRIBUTION_STOPS[-1][1])


def head_view_lines(values: np.ndarray, selected: int | None = None, side: str = "left",
                    min_weight: float = 0.01, max_lines: int | None = None) -> list[tuple[int, int, float]]:
    """(query, key, weight) lines of a head view, strongest last (drawn on top). With `selected`, only that
    token's lines: its attention to every key (`side="left"`, a query) or every query's attention to it. With
    `max_lines`, only the strongest that many (a 512-token map has up to 262,144)."""
    values = np.asarray(values, dtype=np.float32)
    shown = values >= min_weight
    if selected is not None:
        chosen = np.zeros_like(shown)
        if side == "left":
            chosen[selected, :] = True
        else:
            chosen[:, selected] = True
        shown &= chosen
    queries, keys = np.nonzero(shown)  # row-major, so equal weights keep query-then-key order
    weights = values[queries, keys]
    order = np.argsort(weights, kind="stable")
    if max_lines is not None:
        order = order[len(order) - max_lines:] if len(order) > max_lines else order
    return [(int(queries[i]), int(keys[i]), float(weights[i])) for i in order]


# ---- probe suites ---------------------------------------------------------------------------------------------------

def suite_table_rows(metrics: dict) -> list[tuple[str, int, float, float, float]]:
    """(scope, items, precision@1, precision@k, MRR): 'overall' first, then each group by name."""
    scopes = [("overall", metrics["overall"]), *sorted(metrics["groups"].items())]
    return [(name, int(m["n"]), m["precision_at_1"], m["precision_at_k"], m["mrr"]) for name, m in scopes]


def suite_curves(
    results: Sequence[ProbeResultRecord], group: str | None = None
) -> list[tuple[str, list[int], list[float]]]:
    """(metric name, checkpoint steps, values) per metric over results of one suite version, overall or of `group`."""
    curves = []
    for metric, name in METRIC_NAMES.items():
        points = metric_series(results, metric, group) if results else []
        if points:
            curves.append((name, [step for step, _ in points], [value for _, value in points]))
    return curves


class SuiteCancelled(Exception):
    """Raised between checkpoints when the user cancels; the checkpoints done so far are already stored."""


@dataclass(frozen=True)
class SuiteRun:
    results: list[tuple[ProbeResultRecord, Any]]  # (the stored record, the suite's result) per checkpoint
    cancelled: bool


def cancellable(
    job: Callable[[Callable[[int, int], None]], list],
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> SuiteRun:
    """`job(report)` (a suite over checkpoints, reporting after each) stopped after the checkpoint in progress
    once `cancelled()` is true; the results stored before that are read back from the store."""
    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        if cancelled() and done < total:
            raise SuiteCancelled

    try:
        return SuiteRun(job(report), False)
    except SuiteCancelled:
        return SuiteRun([], True)


def run_suite_cancellable(
    ws: Workspace,
    run_id: int,
    suite_path: str | Path | None,
    step: int | None,
    all_checkpoints: bool,
    top_k: int = DEFAULT_TOP_K,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> SuiteRun:
    """`run_probe_suite`, `cancellable`."""
    return cancellable(lambda report: run_probe_suite(ws, run_id, suite_path, step, all_checkpoints, top_k,
                                                      progress=report), progress, cancelled)
