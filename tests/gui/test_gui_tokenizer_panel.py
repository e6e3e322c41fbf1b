"""The Tokenizer panel, driven as a user would: train on the sample corpus, pick a tokenizer, browse the
vocabulary with its corpus frequencies, and type text to see its pieces."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QStandardPaths, Qt  # noqa: E402

from workbench.gui.panels.tokenizer_live import WORD_START_MARK  # noqa: E402
from workbench.gui.panels.tokenizer_panel import TokenizerPanel  # noqa: E402
from workbench.gui.state import AppState  # noqa: E402
from workbench.gui.workers import TaskRunner  # noqa: E402
from workbench.jobs.corpora import get_corpus  # noqa: E402
from workbench.jobs.tokenizers import load_tokenizer, train_tokenizer_for  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.tokenizer import TokenizerConfig  # noqa: E402
from workbench.views.browse import count_token_frequencies, stream_documents  # noqa: E402

TIMEOUT = 60_000
SMALL = TokenizerConfig(type="wordpiece", vocab_size=500)


def _open(qtbot, home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    panel = TokenizerPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1100, 750)
    panel.show()
    return panel


@pytest.fixture
def panel(qtbot, home: Path):
    widget = _open(qtbot, home)
    yield widget
    widget.runner.shutdown()
    widget.state.close()


@pytest.fixture
def trained(qtbot, home: Path):
    """A panel opened on a home where a 500-token WordPiece was already trained on the sample."""
    with Workspace(home) as ws:
        record = train_tokenizer_for(ws, get_corpus(ws, None), SMALL)
    widget = _open(qtbot, home)
    qtbot.waitUntil(lambda: widget.vocabulary.frequency_note.text().startswith("Frequencies:"), timeout=TIMEOUT)
    yield widget, record
    widget.runner.shutdown()
    widget.state.close()


def _visible(panel: TokenizerPanel, column: int) -> list[str]:
    proxy = panel.vocabulary.proxy
    return [proxy.index(row, column).data() for row in range(proxy.rowCount())]


def test_training_through_the_panel_records_and_selects_the_tokenizer(qtbot, panel: TokenizerPanel):
    assert panel.records == [] and "No tokenizer" in panel.list_note.text()
    panel.training.type_combo.setCurrentText("wordpiece")
    panel.training.vocab_size.setValue(500)
    qtbot.mouseClick(panel.training.train_button, Qt.MouseButton.LeftButton)
    assert panel.training.progress.isVisible() and not panel.training.train_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.records) == 1, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: panel.training.train_button.isEnabled(), timeout=TIMEOUT)
    record = panel.records[0]
    assert (record.type, record.vocab_size, record.config["min_frequency"]) == ("wordpiece", 500, 2)
    assert [t.id for t in panel.state.store.list_tokenizers()] == [record.id]
    assert panel.state.tokenizer_id == record.id and panel.table.item(0, 0).text() == str(record.id)
    assert f"Trained tokenizer {record.id}" in panel.training.message.text()
    assert panel.vocabulary.model.rowCount() == 500 and panel.live.pieces
    qtbot.mouseClick(panel.training.train_button, Qt.MouseButton.LeftButton)  # the same settings again: reused
    qtbot.waitUntil(lambda: "trained before" in panel.training.message.text(), timeout=TIMEOUT)
    assert len(panel.state.store.list_tokenizers()) == 1


def test_cancelled_training_saves_nothing(qtbot, panel: TokenizerPanel):
    panel.training.type_combo.setCurrentText("char")
    panel.training.vocab_size.setValue(99)
    qtbot.mouseClick(panel.training.train_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(panel.training.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.training.train_button.isEnabled(), timeout=TIMEOUT)
    assert "cancelled" in panel.training.message.text() and panel.state.store.list_tokenizers() == []
    assert not panel.training.cancel_button.isVisible()


def test_vocabulary_browser_filters_and_sorts_by_corpus_frequency(qtbot, trained):
    panel, record = trained
    assert panel.vocabulary.model.rowCount() == 500 and "all 10,000 documents" in panel.vocabulary.frequency_note.text()
    with Workspace(panel.state.home) as ws:
        expected = count_token_frequencies(load_tokenizer(record), stream_documents(get_corpus(ws, None))).counts
    panel.vocabulary.view.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    counts = [int(text.replace(",", "")) for text in _visible(panel, 2)]
    assert counts == sorted(expected.tolist(), reverse=True)
    top_id = int(_visible(panel, 0)[0])
    assert expected[top_id] == expected.max()
    qtbot.keyClicks(panel.vocabulary.search, "##")
    qtbot.waitUntil(lambda: panel.vocabulary.proxy.rowCount() < 500, timeout=TIMEOUT)
    tokens = _visible(panel, 1)
    assert tokens and all("##" in token for token in tokens)
    assert all(flag == "" for flag in _visible(panel, 3))  # a ## piece never begins a word
    counts = [int(text.replace(",", "")) for text in _visible(panel, 2)]
    assert counts == sorted(counts, reverse=True)  # still sorted while filtered
    panel.vocabulary.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    ids = [int(i) for i in _visible(panel, 0)]
    assert ids == sorted(ids) and len(ids) == len(tokens)
    panel.vocabulary.search.clear()
    qtbot.waitUntil(lambda: panel.vocabulary.proxy.rowCount() == 500, timeout=TIMEOUT)
    assert _visible(panel, 1)[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_live_box_shows_each_piece_with_word_start_marks(qtbot, trained):
    panel, record = trained
    tokenizer = load_tokenizer(record)
    panel.live.input.clear()
    text = "the happily running horses"
    qtbot.keyClicks(panel.live.input, text)
    qtbot.waitUntil(lambda: [p.token for p in panel.live.pieces] == tokenizer.tokens(text), timeout=TIMEOUT)
    pieces = panel.live.pieces
    assert len(pieces) > 4 and [p.word_start for p in pieces] == [not p.token.startswith("##") for p in pieces]
    shown = panel.live.view.toPlainText()
    assert all(piece.token in shown for piece in pieces)
    assert shown.count("▎") == 4  # one mark per word
    html = panel.live.view.toHtml()
    assert html.count("background-color:") >= len(pieces) and "#1f3f8f" in html
    assert WORD_START_MARK.count("▎") == 1 and f"{len(pieces)} pieces, 4 of them" in panel.live.summary.text()
