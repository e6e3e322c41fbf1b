"""The Fill-mask view: a text with one or several masks, the model's top-k tokens at each mask as horizontal
bars of probability, recomputed as the user types (debounced), side by side for two checkpoints.

A double-click (or Ctrl+click) on a word of the text, or a click on a token in the strip below it, masks that
word: all its pieces. "Fill in order" fills the most confident mask first and predicts the rest again, one
step per row, which shows what independent predictions miss ("New Orleans" vs "Los Angeles"). "By layer" applies
the MLM head after every layer instead (`probe_lens`). With heads switched off in the Attention view, the bars
are the ablated model's, each with a tick at the intact model's probability and the change written beside it.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing.encoding import MASK_MARKER
from workbench.gui.advanced import mark_expert
from workbench.gui.panels.probe_common import (
    Computation,
    ProbeContext,
    debounce_timer,
    message_label,
    model_title,
    show_message,
)
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.gui.panels.probe_lens import LensChartWidget, StepDepthWidget
from workbench.gui.plain_words import plain_label
from workbench.jobs.probe_lens import lens_over_checkpoints
from workbench.jobs.workspace import in_workspace
from workbench.views.lens_views import (
    CHANGE_HEADER,
    LENS_HEADER,
    OVER_CHECKPOINTS_HEADER,
    change_rows,
    changes_for_models,
    lens_charts,
    lens_for_models,
    lens_rows,
    over_checkpoint_rows,
    step_depth_tables,
)
from workbench.views.probe_export import FILL_HEADER, file_stem, fill_mask_rows, write_csv
from workbench.views.probe_views import fill_charts, fill_for_models, mask_word_at, parse_targets, text_tokens

DEFAULT_TEXT = "the cow says [MASK] and the dog says [MASK]."
BAR_COLOUR = QColor("#4c78a8")
INTACT_COLOUR = QColor("#d62728")
PLAIN, BY_LAYER, ABLATED = "plain", "by layer", "ablated"  # what the grid shows
ROW_HEIGHT = 20
LABEL_WIDTH = 110


class ProbabilityBars(QWidget):
    """A title and one horizontal bar per candidate: the bar's length is its probability (0 to 100 %)."""

    def __init__(self, title: str, rows: list[tuple[str, float]], intact: list[float] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.rows = rows
        self.intact = intact  # the intact model's probabilities of the same tokens, when heads are off
        self.setMinimumWidth(260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # rows and labels grow with the type (classroom mode's is 1.6 x larger)
        metrics = QFontMetrics(self.font())
        self.row_height = max(ROW_HEIGHT, metrics.height() + 6)
        self.label_width = max(LABEL_WIDTH, metrics.horizontalAdvance("0" * 12))
        self.setFixedHeight(self.row_height * (len(rows) + 1) + 6)
        self.setToolTip("Each bar is the probability the model gives that token at this mask (the full bar is 100 %).")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        metrics = QFontMetrics(self.font())
        bold = self.font()
        bold.setBold(True)
        painter.setFont(bold)
        row_height, label_width = self.row_height, self.label_width
        painter.drawText(QRectF(0, 0, self.width(), row_height), Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(self.title, Qt.TextElideMode.ElideRight, self.width()))
        painter.setFont(self.font())
        bar_space = max(self.width() - label_width - metrics.horizontalAdvance("100.0%") - 16, 20)
        for row, (token, probability) in enumerate(self.rows, start=1):
            y = row * row_height + 2
            label = metrics.elidedText(token, Qt.TextElideMode.ElideRight, label_width - 8)
            painter.drawText(QRectF(0, y, label_width - 8, row_height - 4),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            width = max(bar_space * probability, 2.0)
            painter.fillRect(QRectF(label_width, y + 2, width, row_height - 8), BAR_COLOUR)
            text = f"{probability:.1%}"
            if self.intact is not None:
                intact = self.intact[row - 1]
                painter.fillRect(QRectF(label_width + bar_space * intact - 1, y, 3, row_height - 4), INTACT_COLOUR)
                text += f" (intact {intact:.1%}, {(probability - intact) * 100:+.2f} points)"
                width = max(width, bar_space * intact)
            painter.drawText(QRectF(label_width + width + 4, y, metrics.horizontalAdvance(text) + 8, row_height - 4),
                             Qt.AlignmentFlag.AlignVCenter, text)


class MaskLineEdit(QLineEdit):
    """A line edit where a double-click or a Ctrl+click on a word asks to mask it."""

    word_clicked = Signal(int)  # character position

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.word_clicked.emit(self.cursorPositionAt(event.position().toPoint()))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.word_clicked.emit(self.cursorPositionAt(event.position().toPoint()))
            return
        super().mousePressEvent(event)


class FillMaskView(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.results: list = []  # FillMaskResult | InOrderResult, LensResult or [MaskChange] per model
        self.kind = PLAIN
        self.titles: list[str] = []  # the model of each result
        self.computation = Computation(context.runner, "fill-mask", self, self._show_results, self._show_error)
        self.over: list = []  # (step, LensResult) over the primary run's checkpoints
        self.over_computation = Computation(context.runner, "lens over checkpoints", self, self._show_over,
                                            self._show_error)
        self.debounce = debounce_timer(self, self.compute)
        self._build()
        context.models_changed.connect(self._on_models_changed)
        context.ablation_changed.connect(self.compute)

    def _build(self) -> None:
        self.text = MaskLineEdit(DEFAULT_TEXT)
        self.text.setToolTip("A sentence with one or more [MASK] where the model should guess a word. "
                             "Double-click (or Ctrl+click) a word to mask it.")
        self.text.textChanged.connect(self._on_text_changed)
        self.text.word_clicked.connect(self._mask_at_char)
        self.insert_button = QPushButton(f"Insert {MASK_MARKER}")
        self.insert_button.setToolTip("Put a mask at the cursor (or in place of the selected text).")
        self.insert_button.clicked.connect(self.insert_mask)
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 50)
        self.top_k.setValue(5)
        self.top_k.setToolTip("How many of the model's best guesses to show at each mask.")
        self.top_k.valueChanged.connect(self._schedule)
        self.targets = QLineEdit()
        self.targets.setPlaceholderText("optional: only these words, e.g. moo, woof")
        self.targets.setToolTip("List only these words at each mask, with their probabilities "
                                "(a word of several pieces counts by its first piece).")
        self.targets.textChanged.connect(self._schedule)
        self.in_order = QCheckBox("Fill in order")
        self.in_order.setToolTip("Fill the mask the model is surest about first, then guess the others again "
                                 "with it in place, one step at a time.")
        self.in_order.toggled.connect(self._schedule)
        self.by_layer = QCheckBox("By layer")
        self.by_layer.setToolTip("Apply the model's MLM head after every layer, not only the last: the top-k and the "
                                 "answer's rank and probability layer by layer show at which depth the answer forms.")
        self.by_layer.toggled.connect(self._schedule)
        self.by_layer.toggled.connect(self._on_by_layer)
        self.over_button = QPushButton("Over checkpoints")
        self.over_button.setToolTip("By layer on every checkpoint of the run: the answer's rank by training step "
                                    "and depth, so you see at which layer and at which step it appears.")
        self.over_button.clicked.connect(self.compute_over_checkpoints)
        self.answer = QLineEdit()
        self.answer.setPlaceholderText("answer (default: the model's final guess)")
        self.answer.setToolTip("By layer: the right word at each mask, comma-separated (one word serves every "
                               "mask); without one, each mask follows what the full model predicts there.")
        self.answer.textChanged.connect(self._schedule)
        self.strip = QLabel()
        self.strip.setWordWrap(True)
        self.strip.setToolTip("The tokens the model reads; click one to mask its whole word.")
        self.strip.linkActivated.connect(self._mask_token)
        self.status = message_label()
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.over_host = QWidget()
        self.over_layout = QVBoxLayout(self.over_host)
        results = QWidget()
        results_layout = QVBoxLayout(results)
        results_layout.addWidget(self.grid_host)
        results_layout.addWidget(self.over_host)
        results_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(results)
        self.export_button = ExportButton([
            ExportTarget("predictions", self.grid_host, self._write_csv,
                         lambda: file_stem("fill-mask", *self.titles[:1]),
                         lambda: bool(self.results) and self.kind != BY_LAYER),
            ExportTarget("by layer", self.grid_host, self._write_csv, lambda: file_stem("by-layer", *self.titles[:1]),
                         lambda: bool(self.results) and self.kind == BY_LAYER),
            ExportTarget("over checkpoints", self.over_host,
                         lambda path: write_csv(path, OVER_CHECKPOINTS_HEADER, over_checkpoint_rows(self.over)),
                         lambda: file_stem("by-layer-over-checkpoints", *self.titles[:1]), lambda: bool(self.over))],
            self.status)
        controls = QHBoxLayout()
        targets_label = QLabel("Targets:")
        mark_expert(targets_label, self.targets, self.in_order, self.by_layer, self.answer, self.over_button,
                    self.export_button)  # classroom mode: the model's guesses, nothing more
        for widget in (self.insert_button, plain_label(QLabel("Top k:"), "top_k"), self.top_k, targets_label,
                       self.targets, self.in_order, self.by_layer, self.answer, self.over_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(controls)
        layout.addWidget(self.strip)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)

    # ---- input ----------------------------------------------------------------------------------------------

    @Slot()
    def insert_mask(self) -> None:
        self.text.insert(MASK_MARKER)
        self.text.setFocus()

    @Slot(int)
    def _mask_at_char(self, position: int) -> None:
        if self.context.primary is not None:
            self.text.setText(mask_word_at(self.context.primary.tokenizer, self.text.text(), char_pos=position))

    @Slot(str)
    def _mask_token(self, link: str) -> None:
        if self.context.primary is not None:
            self.text.setText(mask_word_at(self.context.primary.tokenizer, self.text.text(), token_index=int(link)))

    @Slot()
    def _on_text_changed(self) -> None:
        self._update_strip()
        self._show_over([])  # those were for the old text
        self._schedule()

    @Slot()
    def _on_models_changed(self) -> None:
        self._update_strip()
        self.compute()

    @Slot()
    def _schedule(self) -> None:
        self.debounce.start()

    def _update_strip(self) -> None:
        model = self.context.primary
        if model is None or not self.text.text().strip():
            self.strip.setText("")
            return
        parts = []
        for token in text_tokens(model.tokenizer, self.text.text()):
            name = html.escape(token.token)
            if token.word is None:
                colour = "#e07b00" if token.is_mask else "#999999"
                parts.append(f"<span style='color:{colour}'>{name}</span>")
            else:
                parts.append(f"<a href='{token.index}' style='text-decoration:none; color:#1f4e79'>{name}</a>")
        self.strip.setText("<span style='font-family:monospace'>" + " ".join(parts) + "</span>")

    # ---- computing and showing ---------------------------------------------------------------------------

    @Slot()
    def compute(self) -> None:
        self.debounce.stop()
        models = list(self.context.models)
        if not models:
            return
        text, k = self.text.text(), self.top_k.value()
        targets, in_order = parse_targets(self.targets.text()), self.in_order.isChecked()
        answers, ablation = parse_targets(self.answer.text()), self.context.ablation
        plain = [model_title(m) for m in models]
        ablated = [f"{title} · {ablation.caption()}" if ablation.active else title for title in plain]
        if self.by_layer.isChecked():
            self.computation.request(lambda: (BY_LAYER, ablated, lens_for_models(models, text, k, answers, ablation)))
        elif ablation.active and not in_order and not targets:
            self.computation.request(lambda: (ABLATED, ablated, changes_for_models(models, text, k, ablation)))
        else:  # the intact model, titled so
            self.computation.request(lambda: (PLAIN, plain, fill_for_models(models, text, k, targets, in_order)))

    @Slot(object)
    def _show_results(self, computed: tuple[str, list[str], list]) -> None:
        self.kind, self.titles, self.results = computed
        self._clear_grid()
        for column, (title, result) in enumerate(zip(self.titles, self.results)):
            header = QLabel(f"<b>{html.escape(title)}</b>")
            header.setWordWrap(True)
            self.grid.addWidget(header, 0, column)
            for row, widget in enumerate(self._charts(result), start=1):
                self.grid.addWidget(widget, row, column)
        notes = sorted({note for result in self.results for note in getattr(result, "notes", [])})
        if self.context.ablation.active and self.kind == PLAIN:
            notes.append("the intact model: switched-off heads apply to plain fill-mask and By layer, not with "
                         "targets or in order")
        timing = f"computed in {self.computation.last_ms:.0f} ms" if self.computation.last_ms is not None else ""
        show_message(self.status, "; ".join([timing, *notes]).strip("; "))

    @Slot(bool)
    def _on_by_layer(self, on: bool) -> None:
        if not on:
            self._show_over([])  # the tables over checkpoints belong to the By-layer view

    @Slot()
    def compute_over_checkpoints(self) -> None:
        model = self.context.primary
        if model is None:
            return
        home, run_id, text = self.context.state.home, model.run_id, self.text.text()
        answers, k = parse_targets(self.answer.text()), self.top_k.value()
        show_message(self.status, "running the lens on every checkpoint ...")
        self.over_computation.request(lambda: in_workspace(home, lens_over_checkpoints, run_id, text, answers, k))

    @Slot(object)
    def _show_over(self, lenses: list) -> None:
        self.over = lenses
        while self.over_layout.count():
            widget = self.over_layout.takeAt(0).widget()
            widget.hide()  # gone from the picture now, not at the next event-loop turn
            widget.deleteLater()
        for table in step_depth_tables(lenses):
            self.over_layout.addWidget(StepDepthWidget(table))
        if lenses:
            show_message(self.status, f"{len(lenses)} checkpoints in {self.over_computation.last_ms:.0f} ms")

    def _charts(self, result) -> list[QWidget]:
        if self.kind == BY_LAYER:
            return [LensChartWidget(chart) for chart in lens_charts(result)]
        if self.kind == ABLATED:
            return [ProbabilityBars(f"[MASK] at {change.position}", [(t.token, t.ablated) for t in change.tokens],
                                    [t.intact for t in change.tokens]) for change in result]
        return [ProbabilityBars(title, bars) for title, bars in fill_charts(result)]

    @Slot(str)
    def _show_error(self, message: str) -> None:
        self.results = []
        self._clear_grid()
        show_message(self.status, message, error=True)

    def _write_csv(self, path: Path) -> Path:
        if self.kind == BY_LAYER:
            return write_csv(path, LENS_HEADER, lens_rows(self.titles, self.results))
        if self.kind == ABLATED:
            return write_csv(path, CHANGE_HEADER, change_rows(self.titles, self.results, self.context.ablation))
        return write_csv(path, FILL_HEADER, fill_mask_rows(self.titles, self.results))

    def _clear_grid(self) -> None:
        while self.grid.count():
            widget = self.grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()

    def lens_displayed(self) -> list[list]:
        """The By-layer charts shown, per model: their LensChart data."""
        columns: dict[int, list] = {}
        for index in range(self.grid.count()):
            widget = self.grid.itemAt(index).widget()
            if isinstance(widget, LensChartWidget):
                columns.setdefault(self.grid.getItemPosition(index)[1], []).append(widget.chart)
        return [columns[c] for c in sorted(columns)]

    def displayed(self) -> list[list[tuple[str, list[tuple[str, float]]]]]:
        """What the charts show, per model: (title, [(token, probability)]) per chart."""
        columns: dict[int, list] = {}
        for index in range(self.grid.count()):
            widget = self.grid.itemAt(index).widget()
            if isinstance(widget, ProbabilityBars):
                _, column, _, _ = self.grid.getItemPosition(index)
                columns.setdefault(column, []).append((widget.title, widget.rows))
        return [columns[c] for c in sorted(columns)]
