"""Painted attention pictures: a heatmap of one (T, T) matrix with the tokens on both axes and a hover read-out,
a grid of every layer's and head's map as thumbnails to pick from, and a bertviz-style head view (tokens in two
columns, a line from each query to each key whose opacity is the weight; click a token to see only its lines).
Colours come from `workbench.views.probe_views.heat_colours` (white to deep blue).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from workbench.views.probe_views import HEAT_HIGH, head_view_lines, heat_colours

MARGIN = 6
LINE_COLOUR = QColor(*HEAT_HIGH.astype(int))
SELECTED_COLOUR = QColor("#e07b00")


def matrix_image(values: np.ndarray, vmax: float | None = None) -> QImage:
    """A (T, T) matrix as a T x T RGB image (one pixel per cell), to be scaled when painted."""
    rgb = np.ascontiguousarray(heat_colours(values, vmax))  # (T, T, 3)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


class HeatmapWidget(QWidget):
    """One attention matrix: rows are queries (the token looking), columns keys (the token looked at)."""

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.title = ""
        self.setMouseTracking(True)
        self.setMinimumSize(320, 320)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Row: the token that looks; column: the token it looks at. Darker is more attention.")

    def set_matrix(self, values: np.ndarray, labels: list[str], title: str) -> None:
        self.values, self.labels, self.title = np.asarray(values, dtype=np.float32), labels, title
        self.update()

    def _geometry(self) -> tuple[float, float, float]:
        """(left, top, cell): where the grid starts and how big a cell is."""
        metrics = QFontMetrics(self.font())
        label_width = max((metrics.horizontalAdvance(label) for label in self.labels), default=0) + 8
        top = label_width + metrics.height() + MARGIN
        size = len(self.labels) or 1
        cell = max(min((self.width() - label_width - 2 * MARGIN) / size,
                       (self.height() - top - MARGIN) / size), 2.0)
        return label_width + MARGIN, top, cell

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if not self.labels:
            return
        left, top, cell = self._geometry()
        size = len(self.labels)
        metrics = QFontMetrics(self.font())
        painter.drawText(QRectF(MARGIN, MARGIN, self.width(), metrics.height()), self.title)
        painter.drawImage(QRectF(left, top, cell * size, cell * size), matrix_image(self.values))
        for i, label in enumerate(self.labels):
            painter.drawText(QRectF(0, top + i * cell, left - 4, cell),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            painter.save()
            painter.translate(left + (i + 0.5) * cell, top - 4)
            painter.rotate(-90)
            painter.drawText(QRectF(0, -cell / 2, left, cell), Qt.AlignmentFlag.AlignVCenter, label)
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
        self.maps = np.zeros((0, 0, 0, 0), dtype=np.float32)  # (L, A, T, T)
        self.current: tuple[int, int] | None = None
        self.setMinimumSize(160, 120)
        self.setToolTip("Every layer (rows, first at the top) and head (columns). Click one to look at it closely.")

    def set_maps(self, maps: np.ndarray, current: tuple[int, int] | None) -> None:
        self.maps, self.current = np.asarray(maps, dtype=np.float32), current
        self.update()

    def _cell(self) -> tuple[float, float]:
        layers, heads = self.maps.shape[:2]
        label = QFontMetrics(self.font()).height()
        size = min((self.width() - label) / max(heads, 1), (self.height() - label) / max(layers, 1))
        return label, max(size, 8.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if self.maps.size == 0:
            return
        label, size = self._cell()
        layers, heads = self.maps.shape[:2]
        painter.setPen(Qt.GlobalColor.black)
        for head in range(heads):
            painter.drawText(QRectF(label + head * size, 0, size, label), Qt.AlignmentFlag.AlignCenter, f"H{head}")
        for layer in range(layers):
            painter.setPen(Qt.GlobalColor.black)
            painter.drawText(QRectF(0, label + layer * size, label, size), Qt.AlignmentFlag.AlignCenter, f"L{layer}")
            for head in range(heads):
                box = QRectF(label + head * size + 2, label + layer * size + 2, size - 4, size - 4)
                painter.drawImage(box, matrix_image(self.maps[layer, head]))
                chosen = self.current == (layer, head)
                painter.setPen(QPen(SELECTED_COLOUR if chosen else QColor("#cccccc"), 3 if chosen else 1))
                painter.drawRect(box)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.maps.size == 0:
            return
        label, size = self._cell()
        layer, head = int((event.position().y() - label) // size), int((event.position().x() - label) // size)
        if 0 <= layer < self.maps.shape[0] and 0 <= head < self.maps.shape[1]:
            self.picked.emit(layer, head)


class HeadView(QWidget):
    """Tokens on the left (queries) and right (keys), lines whose opacity is the attention weight."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.values = np.zeros((0, 0), dtype=np.float32)
        self.labels: list[str] = []
        self.selected: tuple[str, int] | None = None  # ("left" | "right", token index)
        self.setMinimumSize(260, 200)
        self.setToolTip("Left: the token looking; right: the token looked at; a darker line is more attention. "
                        "Click a token to see only its lines, click it again to see all.")

    def set_matrix(self, values: np.ndarray, labels: list[str]) -> None:
        if labels != self.labels:
            self.selected = None
        self.values, self.labels = np.asarray(values, dtype=np.float32), labels
        self.update()

    def _rows(self) -> tuple[float, float, float, float]:
        """(row height, top, left column's right edge, right column's left edge)."""
        metrics = QFontMetrics(self.font())
        width = max((metrics.horizontalAdvance(label) for label in self.labels), default=0) + 10
        row = min(max((self.height() - 2 * MARGIN) / max(len(self.labels), 1), 4.0), 2.0 * metrics.height())
        return row, MARGIN, MARGIN + width, self.width() - MARGIN - width

    def lines(self) -> list[tuple[int, int, float]]:
        side, index = self.selected if self.selected else ("left", None)
        return head_view_lines(self.values, index, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        if not self.labels:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        row, top, left_edge, right_edge = self._rows()
        for q, k, weight in self.lines():
            colour = QColor(LINE_COLOUR)
            colour.setAlphaF(min(1.0, weight))
            painter.setPen(QPen(colour, 2))
            painter.drawLine(QPointF(left_edge + 4, top + (q + 0.5) * row), QPointF(right_edge - 4, top + (k + 0.5) * row))
        for index, label in enumerate(self.labels):
            for side, x, align in (("left", MARGIN, Qt.AlignmentFlag.AlignRight),
                                   ("right", right_edge + 4, Qt.AlignmentFlag.AlignLeft)):
                painter.setPen(SELECTED_COLOUR if self.selected == (side, index) else Qt.GlobalColor.black)
                painter.drawText(QRectF(x, top + index * row, left_edge - MARGIN - 4, row),
                                 align | Qt.AlignmentFlag.AlignVCenter, label)

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
        self.selected = None if found == self.selected else found
        self.update()
