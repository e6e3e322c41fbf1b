"""The Probe panel on a real tiny run (sample corpus, vocabulary 300, 20 steps, checkpoints at 10 and 20),
driven as a user would: what each view shows equals the probing engine called directly, clicking a word masks
it, a suite on every checkpoint stores one row each, and the attention CSV export has rows summing to 1."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import torch
from probe_harness import TIMEOUT, engine_model, settle
from PySide6.QtCore import QStandardPaths, Qt

from workbench.core.probing import attention_maps, fill_in_order, fill_mask, nearest_tokens, score_sentences
from workbench.gui.panels.probe_panel import ProbePanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.views.probe_views import text_tokens


def shown_predictions(result) -> list[list[tuple[str, float]]]:
    return [[(p.token, p.probability) for p in mask.predictions] for mask in result.masks]


def test_empty_home_says_to_train_a_model_first(qtbot, home: Path) -> None:
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    probe = ProbePanel(state, runner)
    qtbot.addWidget(probe)
    assert probe.stack.currentWidget() is probe.empty
    assert "train one first" in probe.empty.text() and "Quick start" in probe.empty.text()
    runner.shutdown()
    state.close()


def test_fill_mask_shows_the_engines_predictions_for_both_checkpoints(qtbot, probe_panel, trained_home: Path) -> None:
    view = probe_panel.fill
    assert probe_panel.primary.checkpoint.currentData() == 20  # the latest by default
    settle(qtbot, view.computation)
    latest = engine_model(trained_home)
    direct = fill_mask(latest.model, latest.tokenizer, view.text.text(), top_k=5)
    assert [rows for _, rows in view.displayed()[0]] == shown_predictions(direct)
    view.top_k.setValue(3)
    view.targets.setText("moo, woof")
    probe_panel.compare.setChecked(True)
    probe_panel.secondary.checkpoint.setCurrentIndex(probe_panel.secondary.checkpoint.findData(10))
    qtbot.waitUntil(lambda: [m.step for m in probe_panel.context.models] == [20, 10], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: len(view.displayed()) == 2 and not view.computation.busy, timeout=TIMEOUT)
    early = engine_model(trained_home, 10)
    for model, column in zip((latest, early), view.displayed()):
        expected = fill_mask(model.model, model.tokenizer, view.text.text(), top_k=3, targets=["moo", "woof"])
        assert [rows for _, rows in column] == shown_predictions(expected)
    assert view.computation.last_ms is not None and "computed in" in view.status.text()


def test_clicking_a_word_masks_all_its_pieces(qtbot, probe_panel) -> None:
    view = probe_panel.fill
    tokenizer = probe_panel.context.primary.tokenizer
    view.text.setText("the cow says moo.")
    pieces = len(tokenizer.tokens("cow"))
    view.text.setCursorPosition(5)  # inside "cow"
    qtbot.mouseDClick(view.text, Qt.MouseButton.LeftButton, pos=view.text.cursorRect().center())
    assert view.text.text() == "the " + "[MASK]" * pieces + " says moo."
    assert "[MASK]" in view.strip.text()
    view.text.setText("the cow says moo.")
    moo = next(t.index for t in text_tokens(tokenizer, view.text.text()) if t.start == 13)
    view.strip.linkActivated.emit(str(moo))  # a click on that token in the strip
    assert view.text.text() == "the cow says " + "[MASK]" * len(tokenizer.tokens("moo")) + "."
    view.text.setText("the cow says ")
    view.text.end(False)
    qtbot.mouseClick(view.insert_button, Qt.MouseButton.LeftButton)
    assert view.text.text() == "the cow says [MASK]"


def test_fill_in_order_shows_each_step(qtbot, probe_panel, trained_home: Path) -> None:
    view = probe_panel.fill
    view.in_order.setChecked(True)
    view.compute()
    settle(qtbot, view.computation)
    latest = engine_model(trained_home)
    expected = fill_in_order(latest.model, latest.tokenizer, view.text.text(), top_k=5)
    charts = view.displayed()[0]
    assert len(charts) == len(expected.steps) == 2
    for (title, rows), step in zip(charts, expected.steps):
        assert f"token {step.position} ← {step.chosen.token}" in title
        assert rows == [(p.token, p.probability) for p in step.candidates]


def test_attention_heatmap_and_exports(qtbot, probe_panel, trained_home: Path, tmp_path: Path) -> None:
    view = probe_panel.attention
    probe_panel.tabs.setCurrentWidget(view)
    settle(qtbot, view.computation)
    qtbot.waitUntil(lambda: view.matrix is not None, timeout=TIMEOUT)
    latest = engine_model(trained_home)
    maps = attention_maps(latest.model, latest.tokenizer, view.text.text())
    view.thumbnails.picked.emit(0, 1)  # a click on the thumbnail of layer 0, head 1
    assert (view.layer.value(), view.current_head()) == (0, 1)
    assert torch.equal(torch.from_numpy(view.heatmap.values), maps.matrix(0, 1).values)
    view.layer.setValue(1)
    view.head.setCurrentIndex(view.head.findData("rollout"))
    view.hide_special.setChecked(True)
    expected = maps.matrix(1, "rollout", hide_special=True)
    assert torch.allclose(torch.from_numpy(view.heatmap.values), expected.values)
    assert view.heatmap.labels == expected.labels and "renormalised" in view.heatmap.title
    assert view.heatmap.readout(0, 1).startswith(f"{expected.labels[0]} looks at {expected.labels[1]}")
    csv_path = view.export_button.export("heatmap", "csv", tmp_path / "attention.csv")
    rows = list(csv.reader(csv_path.open(encoding="utf-8")))
    assert len(rows) == len(expected.labels) + 1
    assert all(sum(float(v) for v in row[1:]) == pytest.approx(1.0, abs=1e-4) for row in rows[1:])
    png = view.export_button.export("heatmap", "png", tmp_path / "attention.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    view.head_view.select(("left", 0))
    assert {q for q, _, _ in view.head_view.lines()} == {0}


def test_scoring_ranks_sentences_as_the_engine_does(qtbot, probe_panel, trained_home: Path) -> None:
    view = probe_panel.scoring
    sentences = ["the cow says moo.", "moo says the cow.", "the dog says woof."]
    view.sentences.setPlainText("\n".join(sentences) + "\n\n")
    view.method.setCurrentIndex(view.method.findData("word-l2r"))
    qtbot.mouseClick(view.score_button, Qt.MouseButton.LeftButton)
    settle(qtbot, view.computation)
    latest = engine_model(trained_home)
    expected = score_sentences(latest.model, latest.tokenizer, sentences, "word-l2r")
    assert [(s.sentence, s.rank, s.pll) for s in view.scores[0]] == [(s.sentence, s.rank, s.pll) for s in expected]
    assert f"{expected[0].pll:.2f}" in view.browsers[0].toPlainText()
    view.sentences.setPlainText("the [MASK] says moo.")
    view.compute()
    settle(qtbot, view.computation)
    assert "contains [MASK]" in view.status.text()


def test_suite_on_all_checkpoints_stores_a_row_each(qtbot, probe_panel) -> None:
    view = probe_panel.suites
    probe_panel.tabs.setCurrentWidget(view)
    view.top_k.setValue(5)
    qtbot.mouseClick(view.evaluate_all, Qt.MouseButton.LeftButton)
    assert not view.evaluate_all.isEnabled() and view.cancel.isEnabled()
    qtbot.waitUntil(lambda: view.task is None, timeout=60_000)
    run_id = probe_panel.context.primary.run_id
    stored = probe_panel.state.store.probe_results(run_id)
    assert [r.checkpoint_step for r in stored] == [10, 20]
    groups = stored[-1].metrics["groups"]
    assert view.table.rowCount() == 1 + len(groups) and view.table.item(0, 0).text() == "overall"
    assert view.table.item(0, 2).text() == f"{stored[-1].metrics['overall']['precision_at_1']:.3f}"
    assert view.table.horizontalHeaderItem(3).text() == "precision@5"
    assert view.chart.curve_names() == ["precision@1", "precision@k", "MRR"]
    assert view.scope.count() == 1 + len(groups)


def test_switching_checkpoints_and_neighbours(qtbot, probe_panel, trained_home: Path) -> None:
    probe_panel.primary.checkpoint.setCurrentIndex(probe_panel.primary.checkpoint.findData(10))
    qtbot.waitUntil(lambda: probe_panel.context.primary.step == 10, timeout=TIMEOUT)
    view = probe_panel.neighbours
    view.token.setText("the")
    view.find_tokens()
    settle(qtbot, view.computation)
    early = engine_model(trained_home, 10)
    expected = nearest_tokens(early.model, early.tokenizer, "the", 10)
    shown = [view.token_table.item(row, 0).text() for row in range(view.token_table.rowCount())]
    assert shown == [n.token for n in expected.neighbours]
    view.find_words()
    settle(qtbot, view.computation)
    assert view.word_table.rowCount() > 0 and "closest to" in view.status.text()
