"""Static charts of recorded runs: a run's own curves (loss with its unigram baseline, accuracy, learning rate)
and several runs compared on one chart. The data is finished when drawn, so each chart ranges itself once per
drawing; long curves are clipped to the view and peak-downsampled like the live ones in the Train panel.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QWidget

from workbench.views.curves import HEADROOM_PX, RunCurves, Series, padded_range, with_headroom

# Tableau 10: distinct on white and in most colour-vision deficiencies; later runs get generated hues.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
BASELINE_COLOUR = "#888888"


def series_colour(index: int) -> QColor:
    """The colour of the `index`-th run in a comparison."""
    if index < len(PALETTE):
        return QColor(PALETTE[index])
    return pg.intColor(index - len(PALETTE), hues=13, values=2, minValue=150)


class MetricChart(pg.PlotWidget):
    """One plot with a legend: `add_curve` per series, then `fit()` once the chart is complete."""

    def __init__(self, title: str, y_label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="w")
        self.setTitle(title, color="#222222", size="10pt")
        self.setLabel("bottom", "step")
        self.setLabel("left", y_label)
        for side in ("left", "bottom"):
            self.getAxis(side).enableAutoSIPrefix(False)  # "accuracy (x0.001)" reads worse than plain 0.25
        self.showGrid(x=True, y=True, alpha=0.25)
        self.setClipToView(True)
        self.setDownsampling(auto=True, mode="peak")
        self.setMinimumSize(240, 200)
        self.getPlotItem().disableAutoRange()  # ranged once per drawing by fit()
        self.legend = self.addLegend(offset=(-10, 10), labelTextColor="#222222", brush=(255, 255, 255, 200))
        self._names: list[str] = []

    def clear_curves(self) -> None:
        self.clear()  # also empties the legend
        self._names = []

    def add_curve(
        self,
        name: str,
        curve: tuple[Sequence[float], Sequence[float]],
        colour: QColor | str,
        *,
        width: float = 2.0,
        dashed: bool = False,
        symbol: bool = False,
    ) -> pg.PlotDataItem:
        """Draw `(steps, values)`; `symbol` marks each point (for sparse curves such as validation loss)."""
        style = Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine
        pen = pg.mkPen(colour, width=width, style=style)
        steps, values = curve
        item = self.plot(
            steps, values, pen=pen, name=name, connect="finite",
            symbol="o" if symbol else None, symbolSize=5, symbolPen=pen, symbolBrush=colour,
        )
        self._names.append(name)
        return item

    def curve_names(self) -> list[str]:
        """The legend's entries, in drawing order."""
        return list(self._names)

    def fit(self) -> None:
        """Range the axes to all the data, computed here: pyqtgraph's auto-range would only see what clip-to-view
        kept, which is stale while the chart sits hidden in a tab."""
        xs: list[float] = []
        ys: list[float] = []
        for item in self.getPlotItem().listDataItems():
            x, y = item.getOriginalDataset()
            if x is None or len(x) == 0:
                continue
            finite = np.isfinite(y)
            if finite.any():
                xs += [float(np.min(x)), float(np.max(x))]
                ys += [float(np.min(y[finite])), float(np.max(y[finite]))]
        if not xs:  # nothing drawn: no range left over from the run shown before
            self.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.0)
            return
        y_range = padded_range([np.array(ys)])
        legend = self.legend.boundingRect().height() + HEADROOM_PX if self._names else 0.0
        self.setXRange(min(xs), max(xs), padding=0.02)
        # the legend (top right) sits above the curves, not on them
        self.setYRange(*with_headroom(y_range, legend, self.getPlotItem().vb.height()), padding=0.0)


def by_step(series: Series) -> tuple[np.ndarray, np.ndarray]:
    return series.steps, series.values


class RunDetailCharts(QWidget):
    """The curves of one run side by side: loss (train, validation, unigram baseline), accuracy, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss = MetricChart("Loss", "cross-entropy")
        self.accuracy = MetricChart("Validation accuracy", "accuracy")
        self.lr = MetricChart("Learning rate", "lr")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for chart in (self.loss, self.accuracy, self.lr):
            layout.addWidget(chart)

    def show_curves(self, curves: RunCurves) -> None:
        """Draw what the run recorded; curves it lacks (no validation yet) are simply not drawn."""
        for chart in (self.loss, self.accuracy, self.lr):
            chart.clear_curves()
        if len(curves["train_loss"]):
            self.loss.add_curve("train", by_step(curves["train_loss"]), PALETTE[0], width=1.5)
        if len(curves["val_loss"]):
            self.loss.add_curve("validation", by_step(curves["val_loss"]), PALETTE[1], symbol=True)
            if curves.baseline is not None:  # a level line across the validated steps
                ends = curves["val_loss"].steps[[0, -1]]
                self.loss.add_curve("unigram baseline", (ends, [curves.baseline] * 2), BASELINE_COLOUR, dashed=True)
        if len(curves["val_accuracy"]):
            self.accuracy.add_curve("validation", by_step(curves["val_accuracy"]), PALETTE[1], symbol=True)
        if len(curves["lr"]):
            self.lr.add_curve("lr", by_step(curves["lr"]), PALETTE[2], width=1.5)
        for chart in (self.loss, self.accuracy, self.lr):
            chart.fit()


class CompareChart(MetricChart):
    """Several runs' losses on one chart: one colour per run, validation loss bold with points, training loss
    thin and dashed in the same colour."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Validation loss (bold) and training loss (dashed)", "cross-entropy", parent)

    def draw(self, runs: Sequence[tuple[str, RunCurves]]) -> None:
        """`runs`: (run name, its curves with keys val_loss / train_loss) in the order they get colours."""
        self.clear_curves()
        for index, (name, curves) in enumerate(runs):
            colour = series_colour(index)
            if len(curves["val_loss"]):
                self.add_curve(f"{name} · validation", by_step(curves["val_loss"]), colour, width=2.5, symbol=True)
            if len(curves["train_loss"]):
                self.add_curve(f"{name} · training", by_step(curves["train_loss"]), colour, width=1.0, dashed=True)
        self.fit()
