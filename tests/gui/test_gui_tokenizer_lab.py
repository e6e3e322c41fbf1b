"""The Tokenizer panel's Lab: three tokenizers ticked and compared on the sample corpus and on a pasted text; the
figures shown equal `tokenizer_stats` computed directly, the histogram draws one bar group per tokenizer, the
aligned sentences hold every word, and each picture exports as PNG, SVG and CSV."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from PySide6.QtCore import QStandardPaths
from test_gui_probe_export import export_pictures

from workbench.core.tokenizer_stats import count_units, tokenizer_stats
from workbench.gui.panels.tokenizer_panel import TokenizerPanel
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.corpora import documents, get_corpus, rescan
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.tokenizer import TokenizerConfig

TIMEOUT = 60_000
PASTED = "the unbelievably tired farmers sleep. zebras quack!"


@pytest.fixture
def lab(qtbot, home: Path):
    with Workspace(home) as ws:
        corpus = get_corpus(ws, None)
        records = [train_tokenizer_for(ws, corpus, TokenizerConfig(type=kind, vocab_size=size))
                   for kind, size in (("wordpiece", 500), ("bpe", 500), ("unigram", 500))]
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    panel = TokenizerPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1400, 850)
    panel.show()
    panel.tabs.setCurrentWidget(panel.lab)
    yield panel, records
    runner.shutdown()
    state.close()


def test_lab_compares_exports_and_matches_the_engine(qtbot, lab, tmp_path: Path) -> None:
    panel, records = lab
    view = panel.lab
    assert view.choices.count() == 3
    view.tick([str(r.id) for r in records])
    view.compute()
    qtbot.waitUntil(lambda: view.comparison is not None and not view.computation.busy, timeout=TIMEOUT)
    assert view.figures.rowCount() == 3 and view.overlap.rowCount() == 3
    with Workspace(panel.state.home) as ws:
        corpus = get_corpus(ws, None)
        units = count_units(documents(corpus, rescan(ws, corpus)))
    for row, record in enumerate(records):
        direct = tokenizer_stats("", load_tokenizer(record), units)
        assert view.figures.item(row, 2).text() == f"{direct.fertility:.3f}"
        assert view.figures.item(row, 1).text() == f"{direct.words:,}"
        assert view.comparison.stats[row].histogram == direct.histogram
    assert len(view.histogram.listDataItems()) == 3
    if os.environ.get("LAB_SCREENSHOTS"):
        panel.grab().save(str(Path(os.environ["LAB_SCREENSHOTS"]) / "tokenizer_lab.png"))

    for label in ("figures", "histogram", "segmentations", "overlap"):
        export_pictures(view.export_button, label, tmp_path)
    rows = list(csv.DictReader(view.export_button.save("histogram", "csv", tmp_path / "h").open(encoding="utf-8")))
    assert len(rows) == 3 * 10 and sum(int(r["words"]) for r in rows[:10]) == view.comparison.stats[0].words
    figures = list(csv.DictReader(view.export_button.save("figures", "csv", tmp_path / "f").open(encoding="utf-8")))
    assert [float(r["fertility"]) for r in figures] == [s.fertility for s in view.comparison.stats]

    view.corpus.setCurrentIndex(view.corpus.findData(None))
    view.text.setPlainText(PASTED)
    view.compute()
    qtbot.waitUntil(lambda: view.source == "the pasted text" and not view.computation.busy, timeout=TIMEOUT)
    saved = view.export_button.save("segmentations", "csv", tmp_path / "s")
    cells = list(csv.DictReader(saved.open(encoding="utf-8")))
    words = ["the", "unbelievably", "tired", "farmers", "sleep", ".", "zebras", "quack", "!"]
    assert [c["word"] for c in cells[::3]] == words
    first = load_tokenizer(records[0])
    assert [c["pieces"] for c in cells[::3]] == [" ".join(first.tokens(w)) for w in words]


def test_nothing_ticked_is_said(qtbot, lab) -> None:
    panel, _ = lab
    panel.lab.compute()
    assert "tick at least one tokenizer" in panel.lab.status.text()
