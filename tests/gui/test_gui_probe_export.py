"""Every Probe view exports what it shows: PNG (decodes at the picture's size), SVG (parses as XML with drawn
elements) and CSV (rows equal to the data the view holds), through its one Export... button; a failed export is
shown, never raised. And the Attention view at BERT-base shape: 12 layers x 12 heads over 512 tokens."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import torch
from probe_harness import RUN, TIMEOUT, engine_model, settle
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QFileDialog

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import attention_maps, head_statistics
from workbench.gui.panels.probe_export import ExportButton
from workbench.settings.model import BertConfig
from workbench.views.attention_display import MAX_HEAD_VIEW_LINES, THUMBNAIL_CELLS, prepare_attention

SVG = "{http://www.w3.org/2000/svg}"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def export_pictures(button: ExportButton, label: str, folder: Path) -> None:
    """PNG and SVG of one target: the PNG is the widget's size, the SVG holds drawn elements."""
    widget = button.targets[label].widget
    stem = label.replace(" ", "-")
    png = button.save(label, "png", folder / stem)
    image = QImage(str(png))
    ratio = widget.devicePixelRatioF()
    assert png.suffix == ".png" and not image.isNull()
    assert (image.width(), image.height()) == (round(widget.width() * ratio), round(widget.height() * ratio))
    svg = button.save(label, "svg", folder / f"{stem}.svg")
    root = ElementTree.parse(svg).getroot()
    assert root.tag == f"{SVG}svg" and len(list(root.iter())) > 10


def test_fill_mask_exports_its_bars(qtbot, probe_panel, tmp_path: Path) -> None:
    view = probe_panel.fill
    settle(qtbot, view.computation)
    export_pictures(view.export_button, "predictions", tmp_path)
    rows = read_csv(view.export_button.save("predictions", "csv", tmp_path / "fill"))
    assert rows[0] == ["model", "chart", "rank", "token", "probability"]
    shown = [(chart, token, probability) for chart, bars in view.displayed()[0] for token, probability in bars]
    assert [(r[1], r[3], float(r[4])) for r in rows[1:]] == shown
    assert {r[0] for r in rows[1:]} == {f"{RUN} · step 20"}


def test_attention_exports_heatmap_grid_and_head_view(qtbot, probe_panel, trained_home: Path, tmp_path: Path) -> None:
    view = probe_panel.attention
    probe_panel.tabs.setCurrentWidget(view)
    settle(qtbot, view.computation)
    qtbot.waitUntil(lambda: view.matrix is not None, timeout=TIMEOUT)
    view.thumbnails.picked.emit(1, 0)
    button = view.export_button
    for label in ("heatmap", "head grid", "head view"):
        export_pictures(button, label, tmp_path)
    heatmap = read_csv(button.save("heatmap", "csv", tmp_path / "heatmap.csv"))
    assert heatmap[0][1:] == view.matrix.labels
    written = torch.tensor([[float(v) for v in row[1:]] for row in heatmap[1:]])
    assert torch.allclose(written, view.matrix.values, atol=1e-6)
    latest = engine_model(trained_home)
    stats = head_statistics(attention_maps(latest.model, latest.tokenizer, view.text.text()))
    grid = read_csv(button.save("head grid", "csv", tmp_path / "grid.csv"))
    assert [(int(r[0]), int(r[1])) for r in grid[1:]] == [(s.layer, s.head) for s in stats]
    assert [float(r[2]) for r in grid[1:]] == pytest.approx([s.entropy_bits for s in stats], abs=1e-5)
    lines = read_csv(button.save("head view", "csv", tmp_path / "lines.csv"))
    labels = view.head_view.labels
    assert [(r[0], r[1], float(r[2])) for r in lines[1:]] == [(labels[q], labels[k], w) for q, k, w in
                                                               view.head_view.lines()]
    assert len(lines) > 1


def test_scoring_suites_and_neighbours_export(qtbot, probe_panel, tmp_path: Path) -> None:
    probe_panel.tabs.setCurrentWidget(probe_panel.scoring_tabs)
    probe_panel.scoring.compute()
    settle(qtbot, probe_panel.scoring.computation)
    export_pictures(probe_panel.scoring.export_button, "scores", tmp_path)
    scores = read_csv(probe_panel.scoring.export_button.save("scores", "csv", tmp_path / "scores"))
    expected = [(s.sentence, t.token, t.log_prob) for s in probe_panel.scoring.scores[0] for t in s.tokens]
    assert [(r[2], r[6], float(r[7])) for r in scores[1:]] == expected

    suites = probe_panel.suites
    probe_panel.tabs.setCurrentWidget(suites)
    suites.evaluate(all_checkpoints=False)
    qtbot.waitUntil(lambda: suites.task is None, timeout=60_000)
    export_pictures(suites.export_button, "suite results", tmp_path)
    rows = read_csv(suites.export_button.save("suite results", "csv", tmp_path / "suite"))
    stored = suites.results[-1].metrics
    assert rows[1] == ["20", "overall", str(stored["n_items"]), str(stored["k"]),
                       *(str(stored["overall"][m]) for m in ("precision_at_1", "precision_at_k", "mrr"))]
    assert len(rows) == 2 + len(stored["groups"])

    neighbours = probe_panel.neighbours
    probe_panel.tabs.setCurrentWidget(neighbours)
    settle(qtbot, neighbours.computation)
    neighbours.find_words()
    settle(qtbot, neighbours.computation)
    export_pictures(neighbours.export_button, "neighbours", tmp_path)
    rows = read_csv(neighbours.export_button.save("neighbours", "csv", tmp_path / "neighbours"))
    table = neighbours.token_table
    assert [r[2] for r in rows[1:] if r[0] == "tokens"] == [table.item(i, 0).text() for i in range(table.rowCount())]
    assert len([r for r in rows[1:] if r[0] == "words"]) == neighbours.word_table.rowCount() > 0


def test_export_menu_dialog_and_errors(qtbot, probe_panel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    view = probe_panel.attention
    settle(qtbot, view.computation)
    qtbot.waitUntil(lambda: view.matrix is not None, timeout=TIMEOUT)
    actions = [a.text() for a in view.export_button.menu().actions() if not a.isSeparator()]
    assert actions == [f"{label} as {kind}..." for label in ("Heatmap", "Head grid", "Head view", "Head importance")
                       for kind in ("PNG", "SVG", "CSV")]
    asked: list[str] = []

    def answer(parent, caption: str, suggested: str, pattern: str) -> tuple[str, str]:
        asked.append(suggested)
        return str(tmp_path / "chosen"), pattern

    monkeypatch.setattr(QFileDialog, "getSaveFileName", answer)
    next(a for a in view.export_button.menu().actions() if a.text() == "Heatmap as PNG...").trigger()
    assert Path(asked[0]).name == f"attention-heatmap-layer{view.layer.value()}-mean_over_heads.png"
    assert (tmp_path / "chosen.png").is_file() and "saved" in view.status.text()
    assert view.export_button.save("heatmap", "csv", tmp_path / "missing" / "map.csv") is None
    assert view.status.text().startswith("Could not save: ") and "Errno" not in view.status.text()
    probe_panel.fill._show_error("the text has no [MASK]")
    probe_panel.fill.export_button.ask("predictions", "png")
    assert "nothing to export yet" in probe_panel.fill.status.text() and len(asked) == 1


@pytest.fixture
def one_thread():
    """torch on one thread: two threads on two shared cores are several times slower for these maps."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_attention_grid_at_bert_base_shape(qtbot, probe_panel, trained_home: Path, tmp_path: Path, one_thread) -> None:
    """12 layers x 12 heads over 512 tokens (hidden 48 keeps it fast): the grid, a head and its export work."""
    tokenizer = engine_model(trained_home).tokenizer
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=48, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=96, max_position_embeddings=512)
    model = BertForMaskedLM(config).eval()
    with torch.no_grad():  # sharper attention, as a trained model's: random weights spread it evenly over 512 keys
        for layer in model.bert.encoder.layer:
            layer.attention.self.query.weight.mul_(30.0)
            layer.attention.self.key.weight.mul_(30.0)
    middle = torch.randint(len(tokenizer.special_ids), tokenizer.vocab_size, (510,)).tolist()
    maps = attention_maps(model, tokenizer, [tokenizer.cls_id, *middle, tokenizer.sep_id])
    assert maps.probs.shape == (12, 12, 512, 512)
    view = probe_panel.attention
    probe_panel.tabs.setCurrentWidget(view)
    settle(qtbot, view.computation)
    view.show_display(prepare_attention(maps))
    assert view.thumbnails.shape == (12, 12, THUMBNAIL_CELLS)
    view.thumbnails.picked.emit(11, 7)
    assert torch.equal(torch.from_numpy(view.heatmap.values), maps.probs[11, 7])
    assert len(view.head_view.lines()) == MAX_HEAD_VIEW_LINES  # the strongest of many more
    assert (maps.probs[11, 7] >= 0.01).sum() > MAX_HEAD_VIEW_LINES
    view.hide_special.setChecked(True)
    assert view.heatmap.values.shape == (510, 510) and len(view.heatmap.labels) == 510
    assert torch.allclose(torch.from_numpy(view.heatmap.values), maps.matrix(11, 7, hide_special=True).values)
    view.repaint()
    export_pictures(view.export_button, "head grid", tmp_path)
    rows = read_csv(view.export_button.save("head grid", "csv", tmp_path / "grid"))
    assert len(rows) == 1 + 144
