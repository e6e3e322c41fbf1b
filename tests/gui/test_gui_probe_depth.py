"""The Probe panel's deeper views on a real tiny run: Fill-mask "By layer" shows the engine's lens and exports it,
on one checkpoint and over all of them;
heads clicked off in the Attention view's grid change Fill-mask, Scoring and the maps to the ablated model's (the
view says which heads and how) while the weights stay untouched; "Rank heads by importance" shows the engine's
ranking and exports it as PNG, SVG and CSV."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from probe_harness import RUN, TIMEOUT, engine_model, settle
from PySide6.QtCore import QPoint, Qt
from test_gui_probe_export import export_pictures, read_csv

from workbench.core.probing.ablation import compare_fill, head_mask_for, rank_heads
from workbench.core.probing.lens import layer_lens
from workbench.jobs.probe_lens import lens_over_checkpoints
from workbench.jobs.workspace import Workspace
from workbench.views.lens_views import (
    LENS_HEADER,
    OVER_CHECKPOINTS_HEADER,
    RANKING_HEADER,
    Ablation,
    lens_charts,
    step_depth_tables,
)

TEXT = "the cow says [MASK]."


def click_head(qtbot, grid, layer: int, head: int) -> None:
    left, top, size = grid._cell()
    qtbot.mouseClick(grid, Qt.MouseButton.LeftButton,
                     pos=QPoint(int(left + (head + 0.5) * size), int(top + (layer + 0.5) * size)))


def test_by_layer_shows_and_exports_the_engine_lens(qtbot, probe_panel, trained_home: Path, tmp_path: Path) -> None:
    view = probe_panel.fill
    view.text.setText(TEXT)
    view.by_layer.setChecked(True)
    view.compute()
    qtbot.waitUntil(lambda: bool(view.lens_displayed()), timeout=TIMEOUT)
    settle(qtbot, view.computation)
    model = engine_model(trained_home)
    expected = lens_charts(layer_lens(model.model, model.tokenizer, TEXT, top_k=5))
    (shown,) = view.lens_displayed()
    assert [c.rows for c in shown] == [c.rows for c in expected]
    export_pictures(view.export_button, "by layer", tmp_path)
    rows = read_csv(view.export_button.save("by layer", "csv", tmp_path / "lens"))
    assert tuple(rows[0]) == LENS_HEADER and len(rows) == 1 + 3  # embeddings and 2 layers
    assert [float(r[7]) for r in rows[1:]] == pytest.approx(expected[0].probabilities)


def test_heads_switched_off_reach_fill_mask_and_scoring(qtbot, probe_panel, trained_home: Path) -> None:
    model = engine_model(trained_home)
    before = {name: value.clone() for name, value in model.model.state_dict().items()}
    attention, fill, scoring = probe_panel.attention, probe_panel.fill, probe_panel.scoring
    fill.text.setText(TEXT)
    probe_panel.tabs.setCurrentWidget(attention)
    settle(qtbot, attention.computation)
    qtbot.waitUntil(lambda: attention.display is not None, timeout=TIMEOUT)
    attention.ablation.switch.setChecked(True)
    click_head(qtbot, attention.thumbnails, 1, 0)
    assert probe_panel.context.ablation.heads == ((1, 0),)
    assert "head 1.0 off (output zeroed)" in attention.ablation.summary.text()
    settle(qtbot, attention.computation)
    assert attention.thumbnails.off == {(1, 0)} and "head 1.0 off" in attention.heatmap.title
    attention.ablation.mode.setCurrentIndex(attention.ablation.mode.findData("mean"))
    assert probe_panel.context.ablation.mode == "mean"
    assert "replaced by its mean over the sentence" in attention.ablation.summary.text()
    settle(qtbot, fill.computation)
    qtbot.waitUntil(lambda: fill.kind == "ablated", timeout=TIMEOUT)
    expected = compare_fill(model.model, model.tokenizer, TEXT, head_mask_for(model.model, [(1, 0)], "mean"), 5)
    (charts,) = fill.displayed()
    assert charts[0][1] == [(t.token, t.ablated) for t in expected[0].tokens]
    probe_panel.tabs.setCurrentWidget(scoring)
    scoring.compute()
    settle(qtbot, scoring.computation)
    assert scoring.intact is not None and "change" in scoring.browsers[0].toHtml()
    click_head(qtbot, attention.thumbnails, 1, 0)  # on again: the intact model everywhere
    assert probe_panel.context.ablation.heads == ()
    settle(qtbot, fill.computation)
    assert fill.kind == "plain"
    assert all(torch.equal(before[name], value) for name, value in model.model.state_dict().items())


def test_rank_heads_shows_and_exports_the_engine_ranking(qtbot, probe_panel, trained_home: Path,
                                                         tmp_path: Path) -> None:
    attention = probe_panel.attention
    probe_panel.tabs.setCurrentWidget(attention)
    settle(qtbot, attention.computation)
    controls = attention.ablation
    controls.cloze.setText(TEXT)
    controls.rank_button.click()
    qtbot.waitUntil(lambda: controls.ranking is not None, timeout=TIMEOUT)
    model = engine_model(trained_home)
    expected = rank_heads(model.model, model.tokenizer, TEXT)
    assert controls.grid.drops == pytest.approx({(e.layer, e.head): e.drop for e in expected.heads}, abs=1e-5)
    export_pictures(attention.export_button, "head importance", tmp_path)
    rows = read_csv(attention.export_button.save("head importance", "csv", tmp_path / "ranking"))
    assert tuple(rows[0]) == RANKING_HEADER
    assert [(int(r[1]), int(r[2])) for r in rows[1:]] == [(e.layer, e.head) for e in expected.heads]
    click_head(qtbot, controls.grid, 0, 1)  # the importance grid switches heads too
    assert probe_panel.context.ablation.heads == ((0, 1),) and controls.grid.off == {(0, 1)}


def test_by_layer_over_checkpoints_shows_and_exports_rank_by_step(qtbot, probe_panel, trained_home: Path,
                                                                   tmp_path: Path) -> None:
    view = probe_panel.fill
    view.text.setText(TEXT)
    view.by_layer.setChecked(True)
    view.over_button.click()
    qtbot.waitUntil(lambda: bool(view.over), timeout=TIMEOUT)
    with Workspace.open(str(trained_home)) as ws:
        expected = step_depth_tables(lens_over_checkpoints(ws, RUN, TEXT, None, 5))
    shown = [view.over_layout.itemAt(i).widget().table for i in range(view.over_layout.count())]
    assert shown == expected and expected[0].steps == [10, 20]
    export_pictures(view.export_button, "over checkpoints", tmp_path)
    rows = read_csv(view.export_button.save("over checkpoints", "csv", tmp_path / "over"))
    assert tuple(rows[0]) == OVER_CHECKPOINTS_HEADER and len(rows) == 1 + 2 * 3  # 2 steps x 3 depths
    view.text.setText("the dog says [MASK].")  # another text: the old table goes
    assert view.over == [] and view.over_layout.count() == 0


def test_heads_a_new_model_lacks_are_switched_on_again(qtbot, probe_panel) -> None:
    context = probe_panel.context
    context.set_ablation(Ablation(((0, 1), (7, 0)), "mean"))  # the seed-demo model has layers 0..1
    context.set_models(list(context.models))
    assert context.ablation == Ablation(((0, 1),), "mean")
    assert "head 0.1 off" in probe_panel.attention.ablation.summary.text()
