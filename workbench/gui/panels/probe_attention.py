"""The Attention view: where each token of a text looks, layer by layer. A heatmap of one layer and head (or the
mean over heads, or attention rollout through the layers so far) with a hover read-out, every layer and head as
thumbnails to pick from, and a bertviz-style head view. Special tokens can be hidden, in which case each row
is renormalised over the remaining tokens (and the title says so). Each of the three pictures exports as PNG
and SVG, with its numbers as CSV (the heatmap's matrix, every head's statistics, the head view's lines). Heads
can be switched off and ranked by importance (`probe_ablation`); the maps are then the ablated model's.

The model runs once per text on a worker thread, which also shrinks every head's map to a thumbnail and
computes the head-means and rollout (`prepare_attention`); picking a layer, head or aggregation only slices
the stored maps on the GUI thread, so it stays quick on BERT-base (144 heads, 512 tokens).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing import AttentionMatrix, attention_maps, head_statistics
from workbench.core.probing.ablation import head_mask_for
from workbench.gui.advanced import mark_expert
from workbench.gui.panels.probe_ablation import AblationControls
from workbench.gui.panels.probe_common import (
    Computation,
    ProbeContext,
    debounce_timer,
    message_label,
    model_title,
    show_message,
)
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.gui.panels.probe_heads import HeadView, HeatmapWidget, ThumbnailGrid
from workbench.views.attention_display import AttentionDisplay, prepare_attention
from workbench.views.probe_export import (
    HEAD_VIEW_HEADER,
    file_stem,
    head_view_rows,
    save_head_stats_csv,
    save_matrix_csv,
    write_csv,
)

DEFAULT_TEXT = "the farmer feeds the cow and the cow says moo."
MEAN, ROLLOUT = "mean", "rollout"


class AttentionView(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.display: AttentionDisplay | None = None
        self.matrix: AttentionMatrix | None = None
        self.computation = Computation(context.runner, "attention", self, self._on_maps, self._on_failed)
        self.debounce = debounce_timer(self, self.compute)
        self._build()
        context.models_changed.connect(self.compute)
        context.ablation_changed.connect(self.compute)
        context.state.classroom_changed.connect(self.thumbnails.show_plain_words)
        self.thumbnails.show_plain_words(context.state.classroom)

    def _build(self) -> None:
        self.text = QLineEdit(DEFAULT_TEXT)
        self.text.setToolTip("The text whose attention to show (no mask needed).")
        self.text.textChanged.connect(self.debounce.start)
        self.layer = QSpinBox()
        self.layer.setToolTip("Which layer of the model (0 is the first, nearest the input).")
        self.layer.valueChanged.connect(self.redraw)
        self.head = QComboBox()
        self.head.setToolTip("One attention head, the mean of the layer's heads, or rollout: attention followed "
                             "through every layer up to this one (Abnar & Zuidema 2020).")
        self.head.currentIndexChanged.connect(self.redraw)
        self.hide_special = QCheckBox("Hide special tokens (rows renormalised)")
        self.hide_special.setToolTip("Leave out [CLS], [SEP] and the like, which soak up much attention; each row "
                                     "is then rescaled to sum to 1 over the remaining tokens.")
        self.hide_special.toggled.connect(self._on_hide_toggled)
        controls = QHBoxLayout()
        for widget in (QLabel("Layer:"), self.layer, QLabel("Head:"), self.head, self.hide_special):
            controls.addWidget(widget)
        controls.addStretch(1)
        self.heatmap = HeatmapWidget()
        self.heatmap.hovered.connect(self._on_hover)
        self.thumbnails = ThumbnailGrid()
        self.thumbnails.picked.connect(self._on_head_clicked)
        self.head_view = HeadView()
        self.ablation = AblationControls(self.context)
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.thumbnails)
        side.addWidget(self.head_view)
        ablation = scrolled(self.ablation)  # its controls scroll rather than push the panel past 720 px
        side.addWidget(ablation)
        side.setSizes([220, 160, 380])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(side)
        splitter.setSizes([640, 420])
        self.readout = QLabel(" ")
        self.status = message_label()
        self.export_button = ExportButton(self._export_targets(), self.status)
        controls.addWidget(self.export_button)
        mark_expert(ablation, self.export_button)  # classroom mode: the attention itself, nothing switched off
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(controls)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.readout)
        layout.addWidget(self.status)

    # ---- computing ----------------------------------------------------------------------------------------------

    @Slot()
    def compute(self) -> None:
        self.debounce.stop()
        model, text, ablation = self.context.primary, self.text.text(), self.context.ablation
        if model is not None:
            self.computation.request(lambda: prepare_attention(attention_maps(
                model.model, model.tokenizer, text, head_mask_for(model.model, ablation.heads, ablation.mode))))

    @Slot(object)
    def _on_maps(self, display: AttentionDisplay) -> None:
        self.show_display(display)
        show_message(self.status, f"{model_title(self.context.primary)} · computed in "
                                  f"{self.computation.last_ms:.0f} ms")

    def show_display(self, display: AttentionDisplay) -> None:
        """Show a newly computed input: its thumbnails, and the heatmap and head view of the chosen head."""
        self.display = display
        self._set_choices(display.maps.num_layers, display.maps.num_heads)
        self.ablation.grid.set_shape(display.maps.num_layers, display.maps.num_heads)
        self.thumbnails.set_thumbnails(display.thumbnails[self.hide_special.isChecked()])
        self.thumbnails.set_off(self.context.ablation.heads)
        self.redraw()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        show_message(self.status, message, error=True)

    def _set_choices(self, layers: int, heads: int) -> None:
        if self.layer.maximum() == layers - 1 and self.head.count() == heads + 2:
            return
        for widget in (self.layer, self.head):
            widget.blockSignals(True)
        self.layer.setRange(0, layers - 1)
        self.layer.setValue(layers - 1)
        self.head.clear()
        for head in range(heads):
            self.head.addItem(f"head {head}", head)
        self.head.addItem("mean over heads", MEAN)
        self.head.addItem("rollout (layers 0 to this one)", ROLLOUT)
        self.head.setCurrentIndex(heads)
        for widget in (self.layer, self.head):
            widget.blockSignals(False)

    # ---- drawing ----------------------------------------------------------------------------------------------

    def current_head(self) -> int | str:
        return self.head.currentData() if self.head.currentData() is not None else MEAN

    @Slot(int, int)
    def _on_head_clicked(self, layer: int, head: int) -> None:
        if self.ablation.switch.isChecked():
            self.ablation.toggle(layer, head)
        else:
            self.pick(layer, head)

    @Slot(int, int)
    def pick(self, layer: int, head: int) -> None:
        self.layer.setValue(layer)
        self.head.setCurrentIndex(self.head.findData(head))

    @Slot(bool)
    def _on_hide_toggled(self, hide: bool) -> None:
        if self.display is not None:
            self.thumbnails.set_thumbnails(self.display.thumbnails[hide])
        self.redraw()

    @Slot()
    def redraw(self) -> None:
        if self.display is None:
            return
        layer, head, hide = self.layer.value(), self.current_head(), self.hide_special.isChecked()
        self.matrix = self.display.matrix(layer, head, hide_special=hide)
        values = self.matrix.values.numpy()
        caption = self.context.ablation.caption()
        title = (f"Layer {layer}, {self.head_name()} · darkest = {values.max():.2f}"
                 + (" · special tokens hidden, rows renormalised" if hide else "")
                 + (f" · {caption}" if caption else ""))
        self.heatmap.set_matrix(values, self.matrix.labels, title)
        self.head_view.set_matrix(values, self.matrix.labels)
        self.thumbnails.set_current((layer, head) if isinstance(head, int) else None)

    def head_name(self) -> str:
        head = self.current_head()
        return f"head {head}" if isinstance(head, int) else ("mean over heads" if head == MEAN else "rollout")

    @Slot(str)
    def _on_hover(self, text: str) -> None:
        self.readout.setText(text or " ")

    # ---- export -------------------------------------------------------------------------------------------------

    def _export_targets(self) -> list[ExportTarget]:
        def ready() -> bool:
            return self.matrix is not None

        def stem(picture: str) -> str:
            return file_stem("attention", picture, f"layer{self.layer.value()}", self.head_name())

        return [
            ExportTarget("heatmap", self.heatmap, lambda path: save_matrix_csv(self.matrix, path),
                         lambda: stem("heatmap"), ready),
            ExportTarget("head grid", self.thumbnails,
                         lambda path: save_head_stats_csv(head_statistics(self.display.maps), path),
                         lambda: file_stem("attention", "heads"), ready),
            ExportTarget("head view", self.head_view, self._write_head_view_csv, lambda: stem("lines"), ready),
            ExportTarget("head importance", self.ablation.grid, self.ablation.write_ranking_csv,
                         lambda: file_stem("attention", "head-importance"), lambda: self.ablation.ranking is not None),
        ]

    def _write_head_view_csv(self, path: Path) -> Path:
        return write_csv(path, HEAD_VIEW_HEADER, head_view_rows(self.head_view.labels, self.head_view.lines()))


def scrolled(widget: QWidget) -> QScrollArea:
    """`widget` in a vertical scroll area as wide as the widget needs: it scrolls up and down, never sideways."""
    scroll = QScrollArea()
    scroll.setWidget(widget)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(widget.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)
    return scroll
