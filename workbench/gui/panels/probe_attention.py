"""The Attention view: where each token of a text looks, layer by layer. A heatmap of one layer and head (or the
mean over heads, or attention rollout through the layers so far) with a hover read-out, every layer and head as
thumbnails to pick from, and a bertviz-style head view. Special tokens can be hidden, in which case each row
is renormalised over the remaining tokens (and the title says so). The heatmap exports as PNG, its matrix as CSV.

The model runs once per text on a worker thread (`attention_maps`); picking a layer, head or aggregation only
slices the stored maps on the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths, Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing import AttentionMaps, AttentionMatrix, attention_maps
from workbench.gui.panels.probe_common import (
    Computation,
    ProbeContext,
    debounce_timer,
    message_label,
    model_title,
    show_message,
)
from workbench.gui.panels.probe_heads import HeadView, HeatmapWidget, ThumbnailGrid
from workbench.views.probe_views import save_matrix_csv

DEFAULT_TEXT = "the farmer feeds the cow and the cow says moo."
MEAN, ROLLOUT = "mean", "rollout"


class AttentionView(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.maps: AttentionMaps | None = None
        self.matrix: AttentionMatrix | None = None
        self.computation = Computation(context.runner, "attention", self, self._on_maps, self._on_failed)
        self.debounce = debounce_timer(self, self.compute)
        self._build()
        context.models_changed.connect(self.compute)

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
        self.hide_special.toggled.connect(self.redraw)
        png = QPushButton("Export PNG...")
        png.setToolTip("Save the heatmap as a picture.")
        png.clicked.connect(self._ask_png)
        csv = QPushButton("Export CSV...")
        csv.setToolTip("Save the heatmap's numbers as a spreadsheet (one row per token looking).")
        csv.clicked.connect(self._ask_csv)
        controls = QHBoxLayout()
        for widget in (QLabel("Layer:"), self.layer, QLabel("Head:"), self.head, self.hide_special):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(png)
        controls.addWidget(csv)
        self.heatmap = HeatmapWidget()
        self.heatmap.hovered.connect(self._on_hover)
        self.thumbnails = ThumbnailGrid()
        self.thumbnails.picked.connect(self.pick)
        self.head_view = HeadView()
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.thumbnails)
        side.addWidget(self.head_view)
        side.setSizes([200, 400])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.heatmap)
        splitter.addWidget(side)
        splitter.setSizes([640, 420])
        self.readout = QLabel(" ")
        self.status = message_label()
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
        model, text = self.context.primary, self.text.text()
        if model is not None:
            self.computation.request(lambda: attention_maps(model.model, model.tokenizer, text))

    @Slot(object)
    def _on_maps(self, maps: AttentionMaps) -> None:
        self.maps = maps
        self._set_choices(maps.num_layers, maps.num_heads)
        show_message(self.status, f"{model_title(self.context.primary)} · computed in "
                                  f"{self.computation.last_ms:.0f} ms")
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
    def pick(self, layer: int, head: int) -> None:
        self.layer.setValue(layer)
        self.head.setCurrentIndex(self.head.findData(head))

    @Slot()
    def redraw(self) -> None:
        if self.maps is None:
            return
        layer, head, hide = self.layer.value(), self.current_head(), self.hide_special.isChecked()
        self.matrix = self.maps.matrix(layer, head, hide_special=hide)
        values = self.matrix.values.numpy()
        name = f"head {head}" if isinstance(head, int) else ("mean over heads" if head == MEAN else "rollout")
        title = (f"Layer {layer}, {name} · darkest = {values.max():.2f}"
                 + (" · special tokens hidden, rows renormalised" if hide else ""))
        self.heatmap.set_matrix(values, self.matrix.labels, title)
        self.head_view.set_matrix(values, self.matrix.tokens)
        self.thumbnails.set_maps(self._thumbnail_maps(hide), (layer, head) if isinstance(head, int) else None)

    def _thumbnail_maps(self, hide: bool) -> np.ndarray:
        layers, heads = self.maps.num_layers, self.maps.num_heads
        return np.stack([np.stack([self.maps.matrix(layer, head, hide_special=hide).values.numpy()
                                   for head in range(heads)]) for layer in range(layers)])  # (L, A, T', T')

    @Slot(str)
    def _on_hover(self, text: str) -> None:
        self.readout.setText(text or " ")

    # ---- export -------------------------------------------------------------------------------------------------

    def export_png(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(".png")
        if not self.heatmap.grab().save(str(path), "PNG"):
            raise OSError(f"could not write {path}")
        return path

    def export_csv(self, path: str | Path) -> Path:
        if self.matrix is None:
            raise ValueError("there is no attention map to export yet")
        return save_matrix_csv(self.matrix, path)

    def _ask_path(self, kind: str, pattern: str) -> str:
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = str(Path(folder) / f"attention-layer{self.layer.value()}-{self.current_head()}.{kind}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export the attention map as {kind.upper()}", suggested, pattern)
        return path

    @Slot()
    def _ask_png(self) -> None:
        self._export(self.export_png, self._ask_path("png", "PNG images (*.png)"))

    @Slot()
    def _ask_csv(self) -> None:
        self._export(self.export_csv, self._ask_path("csv", "CSV files (*.csv)"))

    def _export(self, write, path: str) -> None:
        if not path:
            return
        try:
            written = write(path)
        except (OSError, ValueError) as error:
            show_message(self.status, f"export failed: {error}", error=True)
        else:
            show_message(self.status, f"saved {written}")
