"""What the Tokenizer panel's Lab shows, without Qt: the tokenizers a user can pick (the workspace's, and the
runs' own, imported models' included), the tables of a comparison, the aligned segmentations as HTML, and each
picture's CSV rows (the window writes PNG and SVG beside them).
"""

from __future__ import annotations

import html
from typing import Sequence

from workbench.core.tokenizer_stats import HISTOGRAM_BINS, Comparison
from workbench.jobs.tokenizer_lab import RUN_PREFIX
from workbench.store.runstore import RunStore
from workbench.views.probe_views import probe_runs

FIGURES_HEADER = ("tokenizer", "words", "word_types", "pieces", "fertility", "share_1", "share_2", "share_3",
                  "share_4_plus", "unk_rate", "unk_word_rate", "vocab_size", "unused_share", "chars_per_piece",
                  "renyi_efficiency", "longest_pieces")
FIGURE_COLUMNS = ("tokenizer", "words", "pieces / word", "1 piece", "2", "3", "4+", "UNK / piece", "UNK / word",
                  "vocabulary", "never used", "chars / piece", "Rényi eff.", "longest pieces")
HISTOGRAM_HEADER = ("tokenizer", "pieces", "words", "share")
OVERLAP_HEADER = ("a", "b", "shared", "jaccard")
ALIGNMENT_HEADER = ("sentence", "word_index", "word", "tokenizer", "pieces")
PIECE_COLOURS = {1: "#ffffff", 2: "#fee08b", 3: "#fdae61"}  # more pieces: "#f46d43"
MANY_PIECES = "#f46d43"
UNKNOWN = "#b2abd2"
LONGEST_SHOWN = 5


def lab_choices(store: RunStore) -> list[tuple[str, str]]:
    """(reference, label) of every tokenizer in the workspace, then of every run that can be probed."""
    corpora = {c.id: c.name for c in store.list_corpora()}
    choices = [(str(t.id), f"#{t.id} {t.type} {t.vocab_size:,} ({corpora.get(t.corpus_id, 'no corpus')})")
               for t in store.list_tokenizers()]
    choices += [(f"{RUN_PREFIX}{run.name}", f"run {run.name} ({run.kind})") for run in probe_runs(store)]
    return choices


def bin_labels() -> list[str]:
    return [str(n) for n in range(1, HISTOGRAM_BINS)] + [f"{HISTOGRAM_BINS}+"]


def figures_rows(comparison: Comparison) -> list[tuple]:
    """The figures table as shown: one row per tokenizer (FIGURE_COLUMNS)."""
    return [(s.name, s.words, s.fertility, *s.split_shares.values(), s.unk_rate, s.unk_word_rate, s.vocab_size,
             s.unused_share, s.chars_per_piece, s.renyi_efficiency,
             "  ".join(piece for piece, _ in s.longest[:LONGEST_SHOWN]))
            for s in comparison.stats]


def figures_csv_rows(comparison: Comparison) -> list[tuple]:
    return [(s.name, s.words, s.word_types, s.pieces, s.fertility, *s.split_shares.values(), s.unk_rate,
             s.unk_word_rate, s.vocab_size, s.unused_share, s.chars_per_piece, s.renyi_efficiency,
             " ".join(f"{p}:{n}" for p, n in s.longest))
            for s in comparison.stats]


def histogram_rows(comparison: Comparison) -> list[tuple]:
    """(tokenizer, pieces per word, words, share of words) of every bar of the histogram."""
    return [(s.name, label, count, count / s.words) for s in comparison.stats
            for label, count in zip(bin_labels(), s.histogram)]


def overlap_rows(comparison: Comparison) -> list[tuple]:
    return [tuple(row) for row in comparison.overlap]


def alignment_rows(comparison: Comparison) -> list[tuple]:
    """(sentence, word index, word, tokenizer, its pieces joined by spaces) for every cell of the alignment."""
    names = [s.name for s in comparison.stats]
    return [(sentence.sentence, index, word, name, " ".join(pieces[index]))
            for sentence in comparison.sentences for index, word in enumerate(sentence.words)
            for name, pieces in zip(names, sentence.pieces)]


def _cell(pieces: Sequence[str], unk: bool) -> str:
    colour = UNKNOWN if unk else PIECE_COLOURS.get(len(pieces), MANY_PIECES)
    text = " · ".join(html.escape(p) for p in pieces)
    return f"<td style='background-color:{colour}; padding:2px 4px'>{text}</td>"


def alignment_html(comparison: Comparison) -> str:
    """Each sentence as a table: its words on top, then one row per tokenizer with each word's pieces beneath it,
    coloured by how many pieces (white 1, yellow 2, orange 3, red-orange more; purple: an unknown piece)."""
    names = [s.name for s in comparison.stats]
    parts = []
    for sentence in comparison.sentences:
        rows = ["<tr><th></th>" + "".join(f"<th>{html.escape(w)}</th>" for w in sentence.words) + "</tr>"]
        for name, pieces, stats in zip(names, sentence.pieces, comparison.stats):
            cells = "".join(_cell(p, stats.unk_token in p) for p in pieces)
            rows.append(f"<tr><th align='left'>{html.escape(name)}</th>{cells}</tr>")
        parts.append(f"<p><i>{html.escape(sentence.sentence)}</i></p>"
                     f"<table cellspacing='2' style='border-collapse:collapse'>{''.join(rows)}</table>")
    return "".join(parts)
