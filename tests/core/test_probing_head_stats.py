"""Head statistics of the attention grid on hand-built maps (one head attends to the previous token, one to
[CLS], one uniformly), and their CSV."""

from __future__ import annotations

import csv
import io
import math

import pytest
import torch

from workbench.core.probing import AttentionMaps, head_statistics, write_head_stats_csv

T = 5


def hand_maps() -> AttentionMaps:
    previous = torch.zeros(T, T)
    previous[0, 0] = 1.0
    for q in range(1, T):
        previous[q, q - 1] = 1.0
    first = torch.zeros(T, T)
    first[:, 0] = 1.0
    uniform = torch.full((T, T), 1.0 / T)
    probs = torch.stack([torch.stack([previous, first, uniform])])  # (1, 3, T, T)
    special = [True, False, False, False, True]
    return AttentionMaps(["[CLS]", "a", "b", "c", "[SEP]"], list(range(T)), special, probs)


def test_each_head_is_described_by_what_it_attends_to() -> None:
    previous, first, uniform = head_statistics(hand_maps())
    assert (previous.layer, previous.head, first.head, uniform.head) == (0, 0, 1, 2)
    assert previous.to_previous == pytest.approx(1.0) and previous.to_next == 0.0
    assert previous.to_self == pytest.approx(1 / T) and previous.entropy_bits == pytest.approx(0.0)
    assert first.to_first == pytest.approx(1.0) and first.to_special == pytest.approx(1.0)
    assert uniform.entropy_bits == pytest.approx(math.log2(T)) and uniform.to_special == pytest.approx(2 / T)
    assert uniform.max_weight == pytest.approx(1 / T) and first.max_weight == 1.0


def test_head_stats_csv_has_a_row_per_head() -> None:
    stats = head_statistics(hand_maps())
    out = io.StringIO()
    write_head_stats_csv(stats, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(int(r["layer"]), int(r["head"])) for r in rows] == [(0, 0), (0, 1), (0, 2)]
    assert [float(r["to_previous"]) for r in rows] == pytest.approx([s.to_previous for s in stats], abs=1e-6)
    assert float(rows[2]["entropy_bits"]) == pytest.approx(math.log2(T), abs=1e-6)
