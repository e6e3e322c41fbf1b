"""The minimal-pair Suites view (Probe panel, Scoring tab): every checkpoint scored and stored, the table and the
curve read back from the store, the pairs of the last evaluation equal to a direct evaluation of that checkpoint
(a tie counted as a failure), and PNG, SVG and CSV exports of both pictures."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from probe_harness import RUN, engine_model
from PySide6.QtCore import Qt
from test_gui_probe_export import export_pictures

from workbench.core.probing import pseudo_log_likelihood
from workbench.core.probing.minimal_pairs import evaluate_pairs, load_pairs
from workbench.jobs.pair_suites import default_pairs_path
from workbench.jobs.workspace import Workspace


def test_pairs_on_every_checkpoint_are_stored_shown_and_exported(qtbot, probe_panel, trained_home: Path,
                                                                  tmp_path: Path) -> None:
    view = probe_panel.pair_suites
    probe_panel.tabs.setCurrentWidget(probe_panel.scoring_tabs)
    probe_panel.scoring_tabs.setCurrentWidget(view)
    qtbot.mouseClick(view.evaluate_all, Qt.MouseButton.LeftButton)
    assert not view.evaluate_all.isEnabled() and view.cancel.isEnabled()
    qtbot.waitUntil(lambda: view.task is None, timeout=120_000)
    with Workspace.open(str(trained_home)) as ws:
        suite = load_pairs(default_pairs_path(ws))
    stored = probe_panel.state.store.probe_results(probe_panel.context.primary.run_id, suite.version("original"))
    assert [r.checkpoint_step for r in stored] == [10, 20]
    metrics = stored[-1].metrics
    assert view.table.rowCount() == 1 + len(metrics["groups"]) == 7 and view.table.item(0, 0).text() == "overall"
    assert view.table.item(0, 2).text() == f"{metrics['overall']['accuracy']:.3f}"
    assert view.chart.curve_names() == ["overall"]
    view.scope.setCurrentText("every phenomenon")
    assert view.chart.curve_names() == ["overall", *sorted(metrics["groups"])]

    probe = engine_model(trained_home, 20)
    direct = evaluate_pairs(probe.model, probe.tokenizer, suite)
    assert view.pairs.rowCount() == len(direct.items) == 300
    assert direct.metrics["overall"]["accuracy"] == metrics["overall"]["accuracy"]

    export_pictures(view.export_button, "minimal pairs results", tmp_path)
    export_pictures(view.export_button, "pairs", tmp_path)
    table = list(csv.DictReader(view.export_button.save("minimal pairs results", "csv", tmp_path / "t").open()))
    assert [(int(r["step"]), r["phenomenon"]) for r in table][:2] == [(10, "overall"), (10, "agreement")]
    assert float(table[-7]["accuracy"]) == metrics["overall"]["accuracy"]
    pairs = list(csv.DictReader(view.export_button.save("pairs", "csv", tmp_path / "p").open()))
    assert [(r["good"], r["bad"]) for r in pairs] == [(p.good, p.bad) for p in suite.pairs]
    right = sum(r["outcome"] == "right" for r in pairs)
    assert right / 300 == metrics["overall"]["accuracy"]
    assert all((r["outcome"] == "right") == (float(r["margin"]) > 1e-4) for r in pairs)  # a tie is not right
    probe_panel.primary.checkpoint.setCurrentIndex(probe_panel.primary.checkpoint.findData(10))
    qtbot.waitUntil(lambda: probe_panel.context.primary.step == 10, timeout=20_000)
    early = engine_model(trained_home, 10)
    shown = [(view.pairs.item(row, 1).text(), float(view.pairs.item(row, 3).text())) for row in range(3)]
    assert [good for good, _ in shown] == [pair.good for pair in suite.pairs[:3]]
    for good, pll in shown:  # the step-10 scores now, not step 20's
        assert pll == pytest.approx(pseudo_log_likelihood(early.model, early.tokenizer, good).pll, abs=2e-3)
    probe_panel.primary.checkpoint.setCurrentIndex(probe_panel.primary.checkpoint.findData(20))
    qtbot.waitUntil(lambda: probe_panel.context.primary.step == 20, timeout=20_000)
    if os.environ.get("LAB_SCREENSHOTS"):
        probe_panel.resize(1400, 850)
        probe_panel.grab().save(str(Path(os.environ["LAB_SCREENSHOTS"]) / "probe_pair_suites.png"))
    assert RUN == probe_panel.context.primary.run_name
