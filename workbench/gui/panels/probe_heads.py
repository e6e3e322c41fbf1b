"""Painted attention pictures: a heatmap of one (T, T) matrix with the tokens on both axes and a hover read-out,
a grid of every layer's and head's map as thumbnails to pick from, and a bertviz-style head view (tokens in two
columns, a line from each query to each key whose opacity is the weight; click a token to see only its lines).
Colours come from `workbench.views.probe_views.heat_colours` (white to deep blue).

Sized for BERT-base (144 heads, 512 tokens): every picture is built once when its data changes, never in
`paintEvent`; the grid paints small images of maps the worker shrank (`workbench.views.attention_display`),
labels that would overlap are thinned, and the head view draws only its strongest lines.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontMetrics, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from workbench.views.attention_display import MAX_HEAD_VIEW_LINES, label_step
from workbench.views.glossary import head_label, layer_label
from workbench.views.probe_views import HEAT_HIGH, head_view_lines, heat_colours

MARGIN = 6
LINE_COLOUR = QColor(*HEAT_HIGH.astype(int))
SELECTED_COLOUR = QColor("#e07b00")
OFF_COLOUR = QColor("#d62728")  # a head switched off
ANTIALIASED_LINES = 300  # more lines than this are drawn without antialiasing (several times faster)
OPACITY_LEVELS = 64  # line opacities are rounded to this many steps, so lines share pens


def rgb_image(rgb: np.ndarray) -> QImage:
    """An (H, W, 3) uint8 array as an RGB image (a copy: the array may go)."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def matrix_image(values: np.ndarray, vmax: float | None = None) -> QImage:
    """A (T, T) matrix as a T x T RGB image (one pixel per cell), to be scaled when painted."""
    return rgb_image(heat_colours(values, vmax))


def widest(labels: list[str], metrics: QFontMetrics) -> int:
    return max((metrics.horizontalAdvance(label) for label in labels), default=0)


class HeatmapWidget(QWidget):
    """One attention matrix: rows are queries (the token looking), columns keys (the token looked at)."""

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.title = ""
        self.image = QImage()
        self.label_width = 0
        self.setMouseTracking(True)
        self.setMinimumSize(320, 320)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Row: the token that looks; column: the token it looks at. Darker is more attention.")

    def set_matrix(self, values: np.ndarray, labels: list[str], title: str) -> None:
        self.values, self.title = np.asarray(values, dtype=np.float32), title
        if labels != self.labels:
            self.labels = labels
            self.label_width = widest(labels, QFontMetrics(self.font())) + 8
        self.image = matrix_image(self.values)
        self.update()

    def _geometry(self) -> tuple[float, float, float]:
        """(left, top, cell): where the grid starts and how big a cell is."""
        top = self.label_width + QFontMetrics(self.font()).height() + MARGIN
        size = len(self.labels) or 1
        cell = min((self.width() - self.label_width - 2 * MARGIN) / size, (self.height() - top - MARGIN) / size)
        return self.label_width + MARGIN, top, max(cell, 0.25)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if not self.labels:
            return
        left, top, cell = self._geometry()
        size = len(self.labels)
        metrics = QFontMetrics(self.font())
        painter.drawText(QRectF(MARGIN, MARGIN, self.width(), metrics.height()), self.title)
        # Fewer pixels than cells: average them rather than drop whole rows (a peak could vanish).
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, cell < 1)
        painter.drawImage(QRectF(left, top, cell * size, cell * size), self.image)
        step = label_step(size, cell, metrics.height())
        for i in range(0, size, step):
            box = max(cell, metrics.height())
            centre = (i + 0.5) * cell
            painter.drawText(QRectF(0, top + centre - box / 2, left - 4, box),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, self.labels[i])
            painter.save()
            painter.translate(left + centre, top - 4)
            painter.rotate(-90)
            painter.drawText(QRectF(0, -box / 2, left, box), Qt.AlignmentFlag.AlignVCenter, self.labels[i])
            painter.restore()
        if cell >= 30:  # room for the numbers themselves
            top_value = float(self.values.max()) or 1.0
            for (q, k), value in np.ndenumerate(self.values):
                painter.setPen(Qt.GlobalColor.white if value > 0.55 * top_value else Qt.GlobalColor.black)
                painter.drawText(QRectF(left + k * cell, top + q * cell, cell, cell), Qt.AlignmentFlag.AlignCenter,
                                 f"{value:.2f}"[1:] if value < 1 else "1")

    def cell_at(self, point: QPointF) -> tuple[int, int] | None:
        left, top, cell = self._geometry()
        q, k = int((point.y() - top) // cell), int((point.x() - left) // cell)
        inside = point.x() >= left and point.y() >= top
        return (q, k) if inside and 0 <= q < len(self.labels) and 0 <= k < len(self.labels) else None

    def readout(self, q: int, k: int) -> str:
        return f"{self.labels[q]} looks at {self.labels[k]}: {self.values[q, k]:.4f}"

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        found = self.cell_at(event.position())
        self.hovered.emit(self.readout(*found) if found else "")


class ThumbnailGrid(QWidget):
    """Every layer (rows) and head (columns) as a small heatmap; a click picks one."""

    picked = Signal(int, int)  # layer, head

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shape = (0, 0, 0)  # layers, heads, cells per thumbnail side
        self.tiles: list[list[QImage]] = []  # [layer][head]
        self.current: tuple[int, int] | None = None
        self.off: set[tuple[int, int]] = set()  # heads switched off, crossed out
        self.plain = False  # classroom mode: "layer 1" and "head 1" rather than L0 and H0
        self.setMinimumSize(160, 120)
        self.setToolTip("Every layer (rows, first at the top) and head (columns). Click one to look at it closely.")

    def set_thumbnails(self, rgb: np.ndarray) -> None:
        """(L, A, c, c, 3) uint8 thumbnails, shrunk and coloured by the worker: one small image each. (Tiles, not
        one mosaic painted through source rectangles: an SVG export would embed the whole mosaic 144 times.)"""
        layers, heads, cells = rgb.shape[:3]
        self.shape = (layers, heads, cells)
        self.tiles = [[rgb_image(rgb[layer, head]) for head in range(heads)] for layer in range(layers)]
        self.update()

    @Slot(bool)
    def show_plain_words(self, plain: bool) -> None:
        self.plain = plain
        self.update()

    def set_off(self, heads: tuple[tuple[int, int], ...]) -> None:
        self.off = set(heads)
        self.update()

    def set_current(self, current: tuple[int, int] | None) -> None:
        if current != self.current:
            self.current = current
            self.update()

    def _cell(self) -> tuple[float, float, float]:
        """(left label width, top label height, thumbnail size)."""
        layers, heads, _ = self.shape
        metrics = QFontMetrics(self.font())
        left, top = metrics.horizontalAdvance(layer_label(max(layers - 1, 0), self.plain)) + 6, metrics.height()
        size = min((self.width() - left) / max(heads, 1), (self.height() - top) / max(layers, 1))
        return left, top, max(size, 8.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        layers, heads, _ = self.shape
        if not layers:
            return
        left, top, size = self._cell()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setPen(Qt.GlobalColor.black)
        widest = QFontMetrics(self.font()).horizontalAdvance(head_label(heads - 1, self.plain)) + 2
        for head in range(0, heads, label_step(heads, size, widest)):
            painter.drawText(QRectF(left + head * size, 0, size, top), Qt.AlignmentFlag.AlignCenter,
                             head_label(head, self.plain))
        for layer in range(layers):
            painter.drawText(QRectF(0, top + layer * size, left, size), Qt.AlignmentFlag.AlignCenter,
                             layer_label(layer, self.plain))
        painter.setPen(QPen(QColor("#cccccc"), 1))
        for layer in range(layers):
            for head in range(heads):
                box = QRectF(left + head * size + 1, top + layer * size + 1, size - 2, size - 2)
                painter.drawImage(box, self.tiles[layer][head])
                painter.drawRect(box)
        painter.setPen(QPen(OFF_COLOUR, 2))
        for layer, head in self.off:
            if layer < layers and head < heads:
                box = QRectF(left + head * size + 1, top + layer * size + 1, size - 2, size - 2)
                painter.drawLine(box.topLeft(), box.bottomRight())
                painter.drawLine(box.topRight(), box.bottomLeft())
        if self.current is not None:
            layer, head = self.current
            painter.setPen(QPen(SELECTED_COLOUR, 3))
            painter.drawRect(QRectF(left + head * size + 1, top + layer * size + 1, size - 2, size - 2))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        layers, heads, _ = self.shape
        if not layers:
            return
        left, top, size = self._cell()
        layer, head = int((event.position().y() - top) // size), int((event.position().x() - left) // size)
        if 0 <= layer < layers and 0 <= head < heads:
            self.picked.emit(layer, head)


class HeadView(QWidget):
    """Tokens on the left (queries) and right (keys), lines whose opacity is the attention weight."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.label_width = 0
        self.selected: tuple[str, int] | None = None  # ("left" | "right", token index)
        self.shown: list[tuple[int, int, float]] = []
        self.setMinimumSize(260, 200)
        self.setToolTip("Left: the token looking; right: the token looked at; a darker line is more attention. "
                        f"Click a token to see only its lines, click it again to see all (at most "
                        f"{MAX_HEAD_VIEW_LINES:,} of the strongest lines are drawn).")

    def set_matrix(self, values: np.ndarray, labels: list[str]) -> None:
        if labels != self.labels:
            self.selected = None
            self.labels = labels
            self.label_width = widest(labels, QFontMetrics(self.font())) + 10
        self.values = np.asarray(values, dtype=np.float32)
        self.select(self.selected)

    def select(self, selected: tuple[str, int] | None) -> None:
        self.selected = selected
        side, index = selected if selected else ("left", None)
        self.shown = head_view_lines(self.values, index, side, max_lines=MAX_HEAD_VIEW_LINES)
        self.update()

    def _rows(self) -> tuple[float, float, float, float]:
        """(row height, top, left column's right edge, right column's left edge)."""
        height = QFontMetrics(self.font()).height()
        row = min((self.height() - 2 * MARGIN) / max(len(self.labels), 1), 2.0 * height)
        return max(row, 0.25), MARGIN, MARGIN + self.label_width, self.width() - MARGIN - self.label_width

    def lines(self) -> list[tuple[int, int, float]]:
        """The (query, key, weight) lines drawn, weakest first."""
        return self.shown

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if not self.labels:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, len(self.shown) <= ANTIALIASED_LINES)
        row, top, left_edge, right_edge = self._rows()
        width = 2 if row >= 6 else 1
        # One pen per opacity level and one drawLines call each: a pen per line made 1,500 lines take ~80 ms.
        levels: dict[int, list[QLineF]] = {}
        for q, k, weight in self.shown:
            line = QLineF(left_edge + 4, top + (q + 0.5) * row, right_edge - 4, top + (k + 0.5) * row)
            levels.setdefault(round(min(1.0, weight) * OPACITY_LEVELS), []).append(line)
        for level, lines in sorted(levels.items()):
            colour = QColor(LINE_COLOUR)
            colour.setAlphaF(level / OPACITY_LEVELS)
            painter.setPen(QPen(colour, width))
            painter.drawLines(lines)
        height = QFontMetrics(self.font()).height()
        step = label_step(len(self.labels), row, height)
        for index in range(0, len(self.labels), step):
            box = QRectF(0, top + (index + 0.5) * row - max(row, height) / 2, left_edge - MARGIN - 4, max(row, height))
            for side, x, align in (("left", MARGIN, Qt.AlignmentFlag.AlignRight),
                                   ("right", right_edge + 4, Qt.AlignmentFlag.AlignLeft)):
                painter.setPen(SELECTED_COLOUR if self.selected == (side, index) else Qt.GlobalColor.black)
                painter.drawText(box.translated(x, 0), align | Qt.AlignmentFlag.AlignVCenter, self.labels[index])

    def token_at(self, point: QPointF) -> tuple[str, int] | None:
        row, top, left_edge, right_edge = self._rows()
        index = int((point.y() - top) // row)
        if not 0 <= index < len(self.labels):
            return None
        if point.x() <= left_edge:
            return "left", index
        return ("right", index) if point.x() >= right_edge else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        found = self.token_at(event.position())
        self.select(None if found == self.selected else found)
