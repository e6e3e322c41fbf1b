"""The Probe views' data as CSV, without Qt: one writer per view, each a header and one row per number shown,
in long form (one value per row) so a spreadsheet or pandas can pivot it. Pictures (PNG, SVG) are the window's
business (`workbench.gui.panels.probe_export`); these are what it writes beside them, and what the tests check.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterable, Sequence

from workbench.core.probing import (
    AttentionMatrix,
    FillMaskResult,
    HeadStats,
    InOrderResult,
    SentenceScore,
    write_head_stats_csv,
    write_matrix_csv,
)
from workbench.core.probing.neighbours import ContextualNeighbours, TokenNeighbours
from workbench.store.probe_results import ProbeResultRecord
from workbench.views.probe_views import fill_charts, suite_table_rows

FILL_HEADER = ("model", "chart", "rank", "token", "probability")
HEAD_VIEW_HEADER = ("query", "key", "weight")
SCORING_HEADER = ("model", "rank", "sentence", "pll", "pseudo_perplexity", "position", "token", "log_prob")
SUITE_HEADER = ("step", "group", "items", "k", "precision_at_1", "precision_at_k", "mrr")
NEIGHBOUR_HEADER = ("table", "rank", "token_or_word", "cosine", "sentence")


def with_suffix(path: str | Path, suffix: str) -> Path:
    """`path` ending in `suffix` (".csv", ".png", ...): added when the user typed a name without it."""
    path = Path(path)
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


def file_stem(*parts: object) -> str:
    """A default file name from its parts ('attention', 'layer 11', ...), safe on every file system."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", "-".join(str(p) for p in parts if p not in (None, ""))).strip("_")


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a header and rows (floats at full precision); returns the path written (".csv" added if missing)."""
    path = with_suffix(path, ".csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def save_matrix_csv(matrix: AttentionMatrix, path: str | Path) -> Path:
    """An attention matrix: a header of `position:token` keys, one row per query."""
    path = with_suffix(path, ".csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        write_matrix_csv(matrix, out)
    return path


def save_head_stats_csv(stats: list[HeadStats], path: str | Path) -> Path:
    """The head grid's numbers: one row per (layer, head) with what the head attends to."""
    path = with_suffix(path, ".csv")
    with open(path, "w", newline="", encoding="utf-8") as out:
        write_head_stats_csv(stats, out)
    return path


def fill_mask_rows(titles: Sequence[str], results: Sequence[FillMaskResult | InOrderResult]) -> list[tuple]:
    """(model, chart, rank, token, probability): every bar of every chart, per model."""
    return [(title, chart, rank, token, probability)
            for title, result in zip(titles, results)
            for chart, bars in fill_charts(result)
            for rank, (token, probability) in enumerate(bars, start=1)]


def head_view_rows(labels: Sequence[str], lines: Sequence[tuple[int, int, float]]) -> list[tuple]:
    """(query, key, weight) of each line the head view draws, as `position:token` labels."""
    return [(labels[q], labels[k], weight) for q, k, weight in lines]


def scoring_rows(titles: Sequence[str], scores: Sequence[Sequence[SentenceScore]]) -> list[tuple]:
    """One row per scored token: its sentence's rank, PLL and pseudo-perplexity, then its own log-probability."""
    return [(title, s.rank, s.sentence, s.pll, s.pseudo_perplexity, t.position, t.token, t.log_prob)
            for title, ranked in zip(titles, scores) for s in ranked for t in s.tokens]


def suite_rows(results: Sequence[ProbeResultRecord]) -> list[tuple]:
    """Every stored checkpoint's table (overall first, then each group): the table and the curves together."""
    return [(record.checkpoint_step, scope, items, record.metrics["k"], p1, pk, mrr)
            for record in results for scope, items, p1, pk, mrr in suite_table_rows(record.metrics)]


def neighbour_rows(tokens: TokenNeighbours | None, words: ContextualNeighbours | None,
                   others: Sequence[str]) -> list[tuple]:
    """Both tables: the nearest tokens ('tokens', no sentence), then the contextual neighbours ('words')."""
    rows: list[tuple] = []
    if tokens is not None:
        rows += [("tokens", rank, n.token, n.cosine, "") for rank, n in enumerate(tokens.neighbours, start=1)]
    if words is not None:
        rows += [("words", rank, n.word, n.cosine, others[n.sentence_index] if n.sentence_index < len(others) else "")
                 for rank, n in enumerate(words.neighbours, start=1)]
    return rows
