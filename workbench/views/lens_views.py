"""What the Probe panel shows of the per-layer lens and of head ablation, without Qt: the lens of one or two
models (with the heads switched off, when some are), fill-mask beside the intact model, the caption that says
which heads are off and how, and the CSV rows of each picture (the lens table, the changed bars, the ranking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from workbench.core.modeling_bert import HeadMask
from workbench.core.probing import SentenceScore, score_sentences
from workbench.core.probing.ablation import (
    Head,
    HeadRanking,
    MaskChange,
    compare_fill,
    format_heads,
    head_mask_for,
    rank_heads,
    rank_heads_on_suite,
)
from workbench.core.probing.lens import LensResult, depth_label, layer_lens
from workbench.core.probing.suites import load_suite
from workbench.jobs.probe import ProbeModel

LENS_HEADER = ("model", "position", "answer", "answer_source", "depth", "layer", "answer_rank", "answer_probability",
               "top_k")
CHANGE_HEADER = ("model", "position", "token", "probability_ablated", "probability_intact", "change", "heads_off",
                 "ablation")
RANKING_HEADER = ("rank", "layer", "head", "metric", "value_ablated", "intact", "drop", "ablation")
MODE_WORDS = {"zero": "output zeroed", "mean": "output replaced by its mean over the sentence"}


@dataclass(frozen=True)
class Ablation:
    """The heads the user switched off in the Attention view, and how."""

    heads: tuple[Head, ...] = ()
    mode: str = "zero"

    @property
    def active(self) -> bool:
        return bool(self.heads)

    def caption(self) -> str:
        """'heads 3.5, 4.1 off (output zeroed)', or '' for the intact model."""
        if not self.heads:
            return ""
        names = ", ".join(f"{layer}.{head}" for layer, head in self.heads)
        return f"head{'s' if len(self.heads) > 1 else ''} {names} off ({MODE_WORDS[self.mode]})"

    def toggled(self, head: Head) -> Ablation:
        heads = tuple(h for h in self.heads if h != head) if head in self.heads else (*self.heads, head)
        return Ablation(tuple(sorted(heads)), self.mode)


@dataclass(frozen=True)
class LensChart:
    title: str
    rows: list[tuple[str, int, float, str]]  # (depth label, answer rank, answer probability, top tokens)
    probabilities: list[float]  # the answer's probability at each depth, for the line plot
    settles_at: str  # the depth label from which the answer stays first, or "never"


def lens_for_models(models: Sequence[ProbeModel], text: str, top_k: int, answers: Sequence[str] | None,
                    ablation: Ablation) -> list[LensResult]:
    """The lens of each model, on the same text and answers, with `ablation`'s heads off in each."""
    return [layer_lens(m.model, m.tokenizer, text, top_k, answers, _head_mask(m, ablation)) for m in models]


def changes_for_models(models: Sequence[ProbeModel], text: str, top_k: int,
                       ablation: Ablation) -> list[list[MaskChange]]:
    """Fill-mask of each model with `ablation`'s heads off, beside the same model intact."""
    return [compare_fill(m.model, m.tokenizer, text, _head_mask(m, ablation), top_k) for m in models]


def scores_for_models(models: Sequence[ProbeModel], sentences: Sequence[str], method: str,
                      ablation: Ablation) -> list[list[SentenceScore]]:
    """Each model's scores with `ablation`'s heads off (the Scoring view shows them beside the intact ones)."""
    return [score_sentences(m.model, m.tokenizer, sentences, method, _head_mask(m, ablation)) for m in models]


def _head_mask(model: ProbeModel, ablation: Ablation) -> HeadMask | None:
    return head_mask_for(model.model, ablation.heads, ablation.mode)


def rank_for_model(model: ProbeModel, text: str, answers: Sequence[str] | None, suite_path: str | None,
                   mode: str) -> HeadRanking:
    """Rank the heads on a cloze sentence, or on a suite when `suite_path` is given."""
    if suite_path:
        return rank_heads_on_suite(model.model, model.tokenizer, load_suite(suite_path), mode)
    return rank_heads(model.model, model.tokenizer, text, answers, mode)


def lens_charts(result: LensResult) -> list[LensChart]:
    """One chart per mask: its table rows (embeddings first) and the answer's probability by depth."""
    charts = []
    for mask in result.masks:
        rows = [(depth_label(r.depth), r.answer_rank, r.answer_probability,
                 " ".join(p.token for p in r.predictions)) for r in mask.layers]
        settles = "never" if mask.settles_at is None else depth_label(mask.settles_at)
        title = f"[MASK] at {mask.position}: {mask.answer} ({mask.answer_source})"
        charts.append(LensChart(title, rows, [r.answer_probability for r in mask.layers], settles))
    return charts


def lens_rows(titles: Sequence[str], results: Sequence[LensResult]) -> list[tuple]:
    """LENS_HEADER rows: every depth of every mask of every model."""
    return [(title, mask.position, mask.answer, mask.answer_source, r.depth, depth_label(r.depth), r.answer_rank,
             r.answer_probability, " ".join(p.token for p in r.predictions))
            for title, result in zip(titles, results) for mask in result.masks for r in mask.layers]


def change_rows(titles: Sequence[str], changes: Sequence[Sequence[MaskChange]], ablation: Ablation) -> list[tuple]:
    """CHANGE_HEADER rows: every token shown, with and without the heads."""
    heads = format_heads(ablation.heads)
    return [(title, change.position, t.token, t.ablated, t.intact, t.ablated - t.intact, heads, ablation.mode)
            for title, per_model in zip(titles, changes) for change in per_model for t in change.tokens]


def ranking_rows(ranking: HeadRanking) -> list[tuple]:
    """RANKING_HEADER rows, largest drop first."""
    return [(rank, e.layer, e.head, ranking.metric, e.value, ranking.intact, e.drop, ranking.mode)
            for rank, e in enumerate(ranking.heads, start=1)]


OVER_CHECKPOINTS_HEADER = ("step", "position", "answer", "depth", "layer", "answer_rank", "answer_probability")


@dataclass(frozen=True)
class StepDepthTable:
    """One mask's answer over checkpoints (rows, oldest first) and depths (columns, embeddings first)."""

    title: str
    steps: list[int]
    depths: list[str]
    probabilities: list[list[float]]
    ranks: list[list[int]]


def step_depth_tables(lenses: Sequence[tuple[int, LensResult]]) -> list[StepDepthTable]:
    """Per mask, the answer's probability and rank at every (step, depth): where and when the fact appears."""
    if not lenses:
        return []
    tables = []
    for index, mask in enumerate(lenses[-1][1].masks):
        readings = [lens.masks[index].layers for _, lens in lenses]
        tables.append(StepDepthTable(f"[MASK] at {mask.position}: {mask.answer} over checkpoints",
                                     [step for step, _ in lenses], [depth_label(r.depth) for r in readings[-1]],
                                     [[r.answer_probability for r in row] for row in readings],
                                     [[r.answer_rank for r in row] for row in readings]))
    return tables


def over_checkpoint_rows(lenses: Sequence[tuple[int, LensResult]]) -> list[tuple]:
    """OVER_CHECKPOINTS_HEADER rows: every step, mask and depth."""
    return [(step, mask.position, mask.answer, r.depth, depth_label(r.depth), r.answer_rank, r.answer_probability)
            for step, lens in lenses for mask in lens.masks for r in mask.layers]
