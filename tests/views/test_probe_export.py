"""The Probe views' CSV writers, without Qt or a model: hand-built results of every view go in, and each row
that comes out is checked against them (floats round-trip exactly), as are file names and suffixes."""

from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch

from workbench.core.probing import AttentionMaps, FillMaskResult, InOrderResult, SentenceScore, head_statistics
from workbench.core.probing.fill_mask import FillStep, MaskPredictions, Prediction
from workbench.core.probing.neighbours import ContextualNeighbours, TokenNeighbour, TokenNeighbours, WordNeighbour
from workbench.core.probing.scoring import TokenScore
from workbench.store.probe_results import ProbeResultRecord
from workbench.views.probe_export import (
    FILL_HEADER,
    HEAD_VIEW_HEADER,
    NEIGHBOUR_HEADER,
    SCORING_HEADER,
    SUITE_HEADER,
    file_stem,
    fill_mask_rows,
    head_view_rows,
    neighbour_rows,
    save_head_stats_csv,
    save_matrix_csv,
    scoring_rows,
    suite_rows,
    with_suffix,
    write_csv,
)


def read(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def prediction(token: str, probability: float) -> Prediction:
    return Prediction(len(token), token, probability)


def test_file_names_get_their_suffix_and_safe_stems(tmp_path: Path) -> None:
    assert with_suffix(tmp_path / "a", ".csv").name == "a.csv"
    assert with_suffix(tmp_path / "a.CSV", ".csv").name == "a.CSV"
    assert with_suffix(tmp_path / "run.v2", ".png").name == "run.v2.png"  # a dot in a name is not a suffix to drop
    assert file_stem("fill-mask", "my run · step 2,000", None, "") == "fill-mask-my_run_step_2_000"
    written = write_csv(tmp_path / "plain", ("a", "b"), [(1, 0.1), ("x,y", 1e-9)])
    assert written.name == "plain.csv" and read(written) == [["a", "b"], ["1", "0.1"], ["x,y", "1e-09"]]


def test_fill_mask_rows_list_every_bar_of_every_chart() -> None:
    independent = FillMaskResult(["[CLS]", "[MASK]", "[SEP]"], [1, 4, 2],
                                 [MaskPredictions(1, [prediction("moo", 0.625), prediction("woof", 0.125)])], [])
    in_order = InOrderResult(["[CLS]", "[MASK]", "[MASK]", "[SEP]"], [1, 4, 4, 2],
                             [FillStep(2, prediction("b", 0.5), [prediction("b", 0.5)]),
                              FillStep(1, prediction("a", 0.25), [prediction("a", 0.25), prediction("c", 0.0625)])],
                             [1, 7, 8, 2], "a b", [])
    rows = fill_mask_rows(["run A", "run B"], [independent, in_order])
    assert rows[:2] == [("run A", "[MASK] 1 (token 1)", 1, "moo", 0.625),
                        ("run A", "[MASK] 1 (token 1)", 2, "woof", 0.125)]
    assert [(r[0], r[2], r[3], r[4]) for r in rows[2:]] == [("run B", 1, "b", 0.5), ("run B", 1, "a", 0.25),
                                                             ("run B", 2, "c", 0.0625)]
    assert rows[2][1].startswith("step 1: token 2 ← b") and rows[3][1].startswith("step 2: token 1 ← a")
    assert len(FILL_HEADER) == len(rows[0])


def test_scoring_rows_have_one_row_per_token() -> None:
    score = SentenceScore("the cow", "original", [TokenScore(1, "the", -0.5), TokenScore(2, "cow", -2.25)],
                          -2.75, 3.953, 1)
    rows = scoring_rows(["run"], [[score]])
    assert rows == [("run", 1, "the cow", -2.75, 3.953, 1, "the", -0.5),
                    ("run", 1, "the cow", -2.75, 3.953, 2, "cow", -2.25)]
    assert len(SCORING_HEADER) == len(rows[0])


def test_suite_rows_hold_every_stored_checkpoint(tmp_path: Path) -> None:
    def record(step: int, p1: float) -> ProbeResultRecord:
        scores = {"n": 4, "precision_at_1": p1, "precision_at_k": 0.75, "mrr": 0.5}
        metrics = {"k": 5, "n_items": 4, "overall": scores, "groups": {"animals": {**scores, "n": 3}}}
        return ProbeResultRecord(step, 1, step, "cloze", "f" * 64, metrics, datetime.now(timezone.utc))

    rows = suite_rows([record(10, 0.25), record(20, 0.5)])
    assert rows == [(10, "overall", 4, 5, 0.25, 0.75, 0.5), (10, "animals", 3, 5, 0.25, 0.75, 0.5),
                    (20, "overall", 4, 5, 0.5, 0.75, 0.5), (20, "animals", 3, 5, 0.5, 0.75, 0.5)]
    written = write_csv(tmp_path / "suite.csv", SUITE_HEADER, rows)
    assert read(written)[0] == list(SUITE_HEADER)
    assert read(written)[3] == ["20", "overall", "4", "5", "0.5", "0.75", "0.5"]


def test_neighbour_rows_hold_both_tables() -> None:
    tokens = TokenNeighbours("cow", 9, "cow", [TokenNeighbour(3, "dog", 0.875), TokenNeighbour(4, "cat", 0.5)], None)
    words = ContextualNeighbours("cow", 1, [WordNeighbour(1, 3, "cow", 0.75), WordNeighbour(5, 0, "x", 0.25)])
    rows = neighbour_rows(tokens, words, ["a dog.", "the farmer sees the cow."])
    assert rows == [("tokens", 1, "dog", 0.875, ""), ("tokens", 2, "cat", 0.5, ""),
                    ("words", 1, "cow", 0.75, "the farmer sees the cow."), ("words", 2, "x", 0.25, "")]
    assert neighbour_rows(None, None, []) == [] and len(NEIGHBOUR_HEADER) == len(rows[0])


def test_attention_writers_heatmap_head_view_and_head_grid(tmp_path: Path) -> None:
    probs = torch.tensor([[[[0.75, 0.25, 0.0], [0.5, 0.5, 0.0], [0.0, 0.125, 0.875]]]])  # (1, 1, 3, 3)
    maps = AttentionMaps(["[CLS]", "cow", "[SEP]"], [1, 7, 2], [True, False, True], probs)
    matrix = maps.matrix(0, 0)
    rows = read(save_matrix_csv(matrix, tmp_path / "heatmap"))
    assert rows[0] == ["query\\key", "0:[CLS]", "1:cow", "2:[SEP]"]
    assert [[float(v) for v in row[1:]] for row in rows[1:]] == probs[0, 0].tolist()
    lines = [(0, 1, 0.25), (2, 2, 0.875)]
    written = write_csv(tmp_path / "lines.csv", HEAD_VIEW_HEADER, head_view_rows(matrix.labels, lines))
    assert read(written) == [list(HEAD_VIEW_HEADER), ["0:[CLS]", "1:cow", "0.25"], ["2:[SEP]", "2:[SEP]", "0.875"]]
    stats = read(save_head_stats_csv(head_statistics(maps), tmp_path / "heads"))
    assert stats[0][:3] == ["layer", "head", "entropy_bits"] and len(stats) == 2
    assert float(stats[1][stats[0].index("to_special")]) == pytest.approx((0.75 + 0.5 + 0.875) / 3, abs=1e-6)
