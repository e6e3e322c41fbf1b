"""The Fill-mask view's "By layer" picture of one mask: a small table (depth, the answer's rank and probability,
the head's top-k there) beside a line plot of the answer's probability by depth, embeddings first, so the depth
at which the answer forms shows at a glance; and over every checkpoint of a run, the answer's rank by step and
depth. Painted with QPainter, so they export as PNG and as SVG vectors.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from workbench.views.lens_views import LensChart, StepDepthTable
from workbench.views.probe_views import heat_colours

ROW = 18
TABLE_COLUMNS = (("depth", 92), ("rank", 44), ("p(answer)", 80), ("top-k", 220))
PLOT_MIN_WIDTH = 180
LINE_COLOUR = QColor("#4c78a8")
FIRST_COLOUR = QColor("#2e7d32")  # a depth where the answer is ranked first


class LensChartWidget(QWidget):
    def __init__(self, chart: LensChart, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.chart = chart
        self.setMinimumWidth(sum(w for _, w in TABLE_COLUMNS) + PLOT_MIN_WIDTH)
        self.setFixedHeight(ROW * (len(chart.rows) + 3) + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The model's MLM head applied after every layer: the answer's rank and probability at each "
                        "depth (green: ranked first), and its probability as a line from the embeddings to the output.")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        metrics = QFontMetrics(self.font())
        bold = self.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(0, 0, self.width(), ROW), Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(f"{self.chart.title} · first from: {self.chart.settles_at}",
                                            Qt.TextElideMode.ElideRight, self.width()))
        x = 0
        for name, width in TABLE_COLUMNS:
            painter.drawText(QRectF(x, ROW, width - 4, ROW), Qt.AlignmentFlag.AlignVCenter, name)
            x += width
        painter.setFont(self.font())
        for index, (label, rank, probability, top) in enumerate(self.chart.rows):
            y = ROW * (index + 2)
            painter.setPen(FIRST_COLOUR if rank == 1 else Qt.GlobalColor.black)
            cells = (label, str(rank), f"{probability:.3f}", top)
            x = 0
            for (_, width), text in zip(TABLE_COLUMNS, cells):
                painter.drawText(QRectF(x, y, width - 4, ROW), Qt.AlignmentFlag.AlignVCenter,
                                 metrics.elidedText(text, Qt.TextElideMode.ElideRight, width - 4))
                x += width
        self._plot(painter, QRectF(x + 8, ROW * 1.5, self.width() - x - 16, ROW * (len(self.chart.rows) + 0.5)))

    def _plot(self, painter: QPainter, box: QRectF) -> None:
        """The answer's probability (0 to 1, upwards) by depth (left to right)."""
        values = self.chart.probabilities
        painter.setPen(QPen(QColor("#999999"), 1))
        painter.drawRect(box)
        painter.drawText(QRectF(box.left() + 2, box.top(), box.width(), ROW), Qt.AlignmentFlag.AlignTop, "p = 1")
        painter.drawText(QRectF(box.left() + 2, box.bottom() - ROW, box.width(), ROW), Qt.AlignmentFlag.AlignBottom,
                         "0")
        painter.drawText(QRectF(box.left() + 2, box.bottom() - ROW, box.width() - 4, ROW),
                         Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight, "depth →")
        if len(values) < 2 or box.width() <= 0:
            return
        step = box.width() / (len(values) - 1)
        points = [QPointF(box.left() + i * step, box.bottom() - v * box.height()) for i, v in enumerate(values)]
        painter.setPen(QPen(LINE_COLOUR, 2))
        painter.drawPolyline(QPolygonF(points))
        for point, (_, rank, _, _) in zip(points, self.chart.rows):
            painter.setBrush(FIRST_COLOUR if rank == 1 else LINE_COLOUR)
            painter.drawEllipse(point, 3, 3)


class StepDepthWidget(QWidget):
    """Checkpoints (rows, oldest at the top) x depths (columns): the answer's probability as colour, its rank
    written in each cell, so the cell where the answer first ranks first tells at which step and layer it appears."""

    CELL_H = 22

    def __init__(self, table: StepDepthTable, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = table
        self.setFixedHeight(self.CELL_H * (len(table.steps) + 2) + 6)
        self.setMinimumWidth(90 + 60 * len(table.depths))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip("The answer's probability (darker: higher) and rank (the number) at each checkpoint and depth.")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        bold = self.font()
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(0, 0, self.width(), self.CELL_H), Qt.AlignmentFlag.AlignVCenter, self.table.title)
        painter.setFont(self.font())
        left, top = 90, 2 * self.CELL_H
        width = (self.width() - left) / max(len(self.table.depths), 1)
        for column, depth in enumerate(self.table.depths):
            painter.drawText(QRectF(left + column * width, self.CELL_H, width, self.CELL_H),
                             Qt.AlignmentFlag.AlignCenter, depth)
        colours = heat_colours(np.array(self.table.probabilities, dtype=np.float32), 1.0)  # (S, D, 3)
        for row, step in enumerate(self.table.steps):
            y = top + row * self.CELL_H
            painter.setPen(Qt.GlobalColor.black)
            painter.drawText(QRectF(0, y, left - 6, self.CELL_H), Qt.AlignmentFlag.AlignRight |
                             Qt.AlignmentFlag.AlignVCenter, f"step {step:,}")
            for column, (p, rank) in enumerate(zip(self.table.probabilities[row], self.table.ranks[row])):
                box = QRectF(left + column * width + 1, y + 1, width - 2, self.CELL_H - 2)
                painter.fillRect(box, QColor(*(int(c) for c in colours[row, column])))
                painter.setPen(Qt.GlobalColor.white if p > 0.55 else Qt.GlobalColor.black)
                painter.drawText(box, Qt.AlignmentFlag.AlignCenter, f"#{rank}")
