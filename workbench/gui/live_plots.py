"""Live training curves: training loss (raw and smoothed), validation loss against the unigram baseline,
masked-token accuracy and learning rate, with earlier runs overlaid for comparison.

Events only append to buffers (`workbench.views.curves.RunCurves`); a 10 Hz timer redraws when a buffer's version
changed, and the view ranges are set by hand at most twice a second. QT-NOTES measured that pyqtgraph's own
auto-range on every point is what stalls the window while a model trains; no symbols on long curves, clip to view
and peak downsampling keep long runs cheap.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.advanced import mark_expert
from workbench.views.curves import (
    HEADROOM_PX,
    Ema,
    RunCurves,
    format_duration,
    nearest_index,
    padded_range,
    with_headroom,
)
from workbench.views.glossary import explain, words

# key, title, y-axis label, the title's glossary term (classroom mode's plain words)
PLOTS = (
    ("train_loss", "Training loss", "loss", "train_loss"),
    ("val_loss", "Validation loss", "loss", "val_loss"),
    ("val_accuracy", "Masked-token accuracy", "accuracy", "accuracy"),
    ("lr", "Learning rate", "lr", "lr"),
)
LOSS_KEYS = {"train_loss", "val_loss"}
LIVE_COLOR = "#1f77b4"
OVERLAY_COLORS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
BASELINE_COLOR = "#555555"
REDRAW_MS = 100  # at most 10 redraws a second
RERANGE_S = 0.5
HOVER_HINT = "Move the mouse over a plot to read its values."
TITLE_SIZE = "10pt"
COLUMNS = 2  # the plots' grid
TITLE_MARGIN_PX = 30  # the grid's margins and spacing, shared by its columns
MIN_CANVAS_PX = 160  # a row of plots still readable; the plots take the height left above this, never ask for more
SYMBOL_LIMIT = 150  # evaluation points get dots while there are few of them (one point alone draws no line)


@dataclass
class _Overlay:
    """An earlier run drawn as static curves."""

    run_id: int
    name: str
    color: str
    curves: RunCurves
    items: dict[str, pg.PlotDataItem] = field(default_factory=dict)


class CompareDialog(QDialog):
    """Pick earlier runs (several at once) to draw next to this one."""

    def __init__(self, runs: Sequence[object], selected: set[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare with earlier runs")
        self.list = QListWidget()
        self.list.setSelectionMode(QListWidget.SelectionMode.MultiSelection)
        for run in runs:
            best = f" · best val loss {run.best_val_loss:.3f}" if run.best_val_loss is not None else ""
            item = QListWidgetItem(f"{run.name} · {run.status} · {run.last_step or 0:,} steps{best}")
            item.setData(Qt.ItemDataRole.UserRole, run.id)
            self.list.addItem(item)
            item.setSelected(run.id in selected)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        hint = "Select the runs to draw next to this one (click again to deselect)." if runs else \
            "There are no earlier runs yet: finish or stop a run first."
        layout.addWidget(QLabel(hint))
        layout.addWidget(self.list)
        layout.addWidget(buttons)
        self.resize(480, 360)

    def selected_ids(self) -> list[int]:
        return [item.data(Qt.ItemDataRole.UserRole) for item in self.list.selectedItems()]


class LiveCurves(QWidget):
    """Four plots of one run's curves, fed by `add_event`, with overlays read from `store` (a RunStore)."""

    overlays_changed = Signal()

    def __init__(self, store: object | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.live = RunCurves()
        self.live_run_id: int | None = None
        self.overlays: list[_Overlay] = []
        self.redraw_count = 0
        self.compare_dialog: CompareDialog | None = None
        self._emas = {"live": Ema(0.6)}
        self._settings_version = 0
        self._overlay_version = 0
        self._drawn: tuple | None = None
        self._overlays_drawn: tuple | None = None
        self._range_pending = False
        self._ranged_at = 0.0
        self._follow = True  # False once the user pans or zooms, until Fit
        self._build_controls()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.controls)
        layout.addWidget(self.canvas, 1)
        layout.addWidget(self.hover_label)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    # ---- construction --------------------------------------------------------------------------------

    def _build_controls(self) -> None:
        self.x_axis = QComboBox()
        self.x_axis.addItem("step", "step")
        self.x_axis.addItem("training time", "time")
        self.x_axis.setToolTip("Show the curves against the training step or against the training time in seconds.")
        self.log_y = QCheckBox("log scale for losses")
        self.log_y.setToolTip("A logarithmic loss axis shows the slow late improvements that a linear axis flattens.")
        self.smoothing = QDoubleSpinBox()
        self.smoothing.setRange(0.0, 0.99)
        self.smoothing.setSingleStep(0.05)
        self.smoothing.setValue(0.6)
        self.smoothing.setToolTip("How much the bold training-loss line is smoothed: 0 follows every point, "
                                  "0.99 shows only the slow trend. The faint line is the raw loss.")
        self.compare_button = QPushButton("Compare with…")
        self.compare_button.setToolTip("Draw earlier runs from the database next to this one, each in its own colour.")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Show all the data again and keep following new points after you zoomed or panned.")
        self.x_axis.currentIndexChanged.connect(self._settings_changed)
        self.log_y.toggled.connect(self._settings_changed)
        self.smoothing.valueChanged.connect(self._settings_changed)
        self.compare_button.clicked.connect(self.open_compare_dialog)
        self.fit_button.clicked.connect(self.fit)
        self.controls = QHBoxLayout()
        display = (QLabel("x axis"), self.x_axis, self.log_y, QLabel("smoothing"), self.smoothing)
        mark_expert(*display)  # classroom mode shows the curves as they come
        for widget in display:
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self.controls.addWidget(self.compare_button)
        self.controls.addWidget(self.fit_button)
        self.hover_label = QLabel(HOVER_HINT)
        self.hover_label.setStyleSheet("color: #444;")

    def _build_plots(self) -> None:
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        # the height the panel leaves them: asking for their 600 px made the Train panel scroll them out of sight
        self.canvas.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)
        self.canvas.setMinimumHeight(MIN_CANVAS_PX)
        self.canvas.installEventFilter(self)
        self.plots: dict[str, pg.PlotItem] = {}
        self.live_items: dict[str, pg.PlotDataItem] = {}
        self.vlines: dict[str, pg.InfiniteLine] = {}
        for i, (key, title, y_label, _) in enumerate(PLOTS):
            plot = self.canvas.addPlot(row=i // 2, col=i % 2)
            self._style_plot(plot, title, y_label)
            if self.plots:
                plot.setXLink(self.plots["train_loss"])
            self.plots[key] = plot
            vline = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999999", width=1, style=Qt.PenStyle.DotLine))
            vline.setVisible(False)
            plot.addItem(vline, ignoreBounds=True)
            self.vlines[key] = vline
        self.legend = self.plots["train_loss"].addLegend(
            offset=(-10, 10), brush=pg.mkBrush(255, 255, 255, 210), labelTextColor="#222222")
        color = pg.mkColor(LIVE_COLOR)
        faint = pg.mkColor(color.red(), color.green(), color.blue(), 70)
        self.raw_item = self.plots["train_loss"].plot(pen=pg.mkPen(faint, width=1))
        for key, *_ in PLOTS:
            name = "this run" if key == "train_loss" else None
            self.live_items[key] = self.plots[key].plot(pen=pg.mkPen(LIVE_COLOR, width=2), name=name, symbol=None,
                                                        symbolBrush=LIVE_COLOR, symbolPen=None, symbolSize=5)
        self.baseline = pg.InfiniteLine(
            angle=0, pen=pg.mkPen(BASELINE_COLOR, width=1.5, style=Qt.PenStyle.DashLine), label="unigram baseline",
            labelOpts={"position": 0.15, "color": BASELINE_COLOR, "anchors": [(0, 1), (0, 1)]})
        self.baseline.setVisible(False)
        self.plots["val_loss"].addItem(self.baseline)
        self.canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)

    def _style_plot(self, plot: pg.PlotItem, title: str, y_label: str) -> None:
        plot.setTitle(title, color="#222222", size=TITLE_SIZE)
        plot.titleLabel.item.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignHCenter))  # wrapped
        plot.setLabel("left", y_label)
        plot.setLabel("bottom", "step")
        plot.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen("#666666"))
            axis.setTextPen(pg.mkPen("#333333"))
            axis.enableAutoSIPrefix(False)  # "accuracy (x0.001)" reads worse than plain 0.105
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        plot.disableAutoRange()
        plot.vb.sigRangeChangedManually.connect(self._on_user_range)

    def show_plain_words(self, plain: bool) -> None:
        """Classroom mode: the plots' titles and the baseline's label in plain words, the technical term on hover
        (larger titles, as the rest of the type is larger), and only the two loss plots the lesson talks about, at
        full height (the accuracy is in words above them; the learning rate is a setting classroom mode hides); or
        the technical terms and every plot again."""
        size = TITLE_SIZE if not plain else f"{round(QApplication.font().pointSizeF() + 1)}pt"
        for key, title, _, term in PLOTS:
            plot = self.plots[key]
            plot.setTitle(words(term, True) if plain else title, color="#222222", size=size)
            plot.titleLabel.setToolTip(explain(term) if plain else "")
            plot.setVisible(not plain or key in LOSS_KEYS)
        self.baseline.label.setFormat(words("baseline", plain))
        self.baseline.label.setToolTip(explain("baseline") if plain else "")
        self._fit_titles()

    def _fit_titles(self) -> None:
        """Each title wrapped to the width of its plot where it is wider (classroom mode's plain words in large
        type), so that a title neither is cut off nor widens its plot past the canvas."""
        column = (self.canvas.width() - TITLE_MARGIN_PX) / COLUMNS
        for plot in self.plots.values():
            width = max(column - plot.getAxis("left").width(), 1.0)  # the title stands over the plot's data only
            label = plot.titleLabel
            label.item.setTextWidth(-1)
            if label.item.boundingRect().width() > width:
                label.item.setTextWidth(width)
            label.updateMin()
            plot.updateGeometry()
        QTimer.singleShot(0, self._fit_grid)

    @Slot()
    def _fit_grid(self) -> None:
        """The plots' grid as large as the canvas again, with the titles' new widths: the canvas sized it while they
        were wider (the grid is never narrower than its plots' titles), and resizes it only when it is resized."""
        grid = self.canvas.ci
        grid.layout.invalidate()
        grid.updateGeometry()
        grid.setGeometry(self.canvas.range)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.canvas and event.type() == QEvent.Type.Resize:
            self._fit_titles()
        return super().eventFilter(watched, event)

    # ---- feeding ---------------------------------------------------------------------------------------

    def reset(self, history: RunCurves | None = None, name: str = "this run", run_id: int | None = None) -> None:
        """Start a new live run, continuing `history` (a resumed run's earlier points) when given."""
        self.live = history or RunCurves()
        self.live_run_id = run_id
        self._emas["live"] = Ema(self.smoothing.value())
        self.set_live_name(name)
        self._follow, self._range_pending, self._drawn = True, True, None
        for vline in self.vlines.values():  # the last run's crosshair and read-out do not belong to this one
            vline.setVisible(False)
        self.hover_label.setText(HOVER_HINT)
        for plot in self.plots.values():  # an empty plot shows no range of the last run's
            plot.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.0)

    def set_live_name(self, name: str) -> None:
        label = self.legend.getLabel(self.live_items["train_loss"])
        if label is not None:
            label.setText(name)

    @Slot(object)
    def add_event(self, event: object) -> None:
        """Append a training event to the buffers; drawing waits for the timer."""
        if self.live.add_event(event):
            self._range_pending = True

    # ---- overlays --------------------------------------------------------------------------------------

    @Slot()
    def open_compare_dialog(self) -> None:
        if self.store is None:
            return
        runs = [r for r in self.store.list_runs(kind="pretrain") if r.id != self.live_run_id]
        self.compare_dialog = CompareDialog(runs, {o.run_id for o in self.overlays}, self)
        self.compare_dialog.accepted.connect(self._on_compare_accepted)
        self.compare_dialog.open()

    @Slot()
    def _on_compare_accepted(self) -> None:
        if self.compare_dialog is not None:
            self.compare_with(self.compare_dialog.selected_ids())

    def compare_with(self, run_ids: Sequence[int]) -> list[str]:
        """Replace the overlays by these runs' stored curves; returns the names drawn."""
        for overlay in self.overlays:
            for key, item in overlay.items.items():
                self.plots[key].removeItem(item)
            self._emas.pop(f"overlay-{overlay.run_id}", None)
        self.overlays = []
        for run_id in run_ids:
            run = self.store.get_run(run_id) if self.store is not None else None
            if run is None:
                continue
            color = OVERLAY_COLORS[len(self.overlays) % len(OVERLAY_COLORS)]
            overlay = _Overlay(run.id, run.name, color, RunCurves.from_metrics(self.store.metrics(run.id)))
            for key, *_ in PLOTS:
                name = run.name if key == "train_loss" else None
                overlay.items[key] = self.plots[key].plot(pen=pg.mkPen(color, width=1.5), name=name)
            self.overlays.append(overlay)
        self._overlay_version += 1
        self._range_pending = True
        self.overlays_changed.emit()
        return [o.name for o in self.overlays]

    # ---- drawing ---------------------------------------------------------------------------------------

    @property
    def axis(self) -> str:
        return self.x_axis.currentData()

    @Slot()
    def _settings_changed(self) -> None:
        log = self.log_y.isChecked()
        for key in LOSS_KEYS:
            self.plots[key].setLogMode(x=False, y=log)
        label = "step" if self.axis == "step" else "training time (s)"
        for plot in self.plots.values():
            plot.setLabel("bottom", label)
        factor = self.smoothing.value()
        self._emas = {name: Ema(factor) for name in self._emas}
        self._settings_version += 1
        self._follow, self._range_pending = True, True

    @Slot()
    def _tick(self) -> None:
        """Redraw when data or settings changed since the last redraw; re-range at most every RERANGE_S."""
        state = (self.live.version, self._overlay_version, self._settings_version, id(self.live))
        if state != self._drawn:
            self._drawn = state
            self._draw()
            self.redraw_count += 1
        now = time.monotonic()
        if self._range_pending and self._follow and now - self._ranged_at >= RERANGE_S:
            self._rerange()
            self._ranged_at, self._range_pending = now, False

    def _draw(self) -> None:
        axis, live = self.axis, self.live
        train = live["train_loss"]
        self.raw_item.setData(train.x(axis), train.values)
        self.live_items["train_loss"].setData(train.x(axis), self._emas["live"](train.values))
        for key in ("val_loss", "val_accuracy", "lr"):
            series = live[key]
            item = self.live_items[key]
            wanted = "o" if key != "lr" and len(series) <= SYMBOL_LIMIT else None
            if item.opts["symbol"] != wanted:
                item.setSymbol(wanted)
            item.setData(series.x(axis), series.values)
        baseline = live.baseline
        self.baseline.setVisible(baseline is not None and baseline > 0)
        if baseline is not None and baseline > 0:
            self.baseline.setPos(math.log10(baseline) if self.log_y.isChecked() else baseline)
        overlays_state = (self._overlay_version, self._settings_version)
        if overlays_state != self._overlays_drawn:  # static curves: only when they or the settings changed
            self._overlays_drawn = overlays_state
            for overlay in self.overlays:
                self._draw_overlay(overlay)

    def _draw_overlay(self, overlay: _Overlay) -> None:
        ema = self._emas.setdefault(f"overlay-{overlay.run_id}", Ema(self.smoothing.value()))
        for key, item in overlay.items.items():
            series = overlay.curves[key]
            values = ema(series.values) if key == "train_loss" else series.values
            item.setData(series.x(self.axis), values)

    def _rerange(self) -> None:
        axis, log = self.axis, self.log_y.isChecked()
        everything = [self.live, *(o.curves for o in self.overlays)]
        x_max = max((float(c[key].x(axis)[-1]) for c in everything for key, *_ in PLOTS if len(c[key])),
                    default=0.0)
        # The data's width, not the planned run's: the first 30 s of a long run fill the plot, not a sliver.
        if x_max > 0:
            self.plots["train_loss"].setXRange(0.0, x_max, padding=0.02)  # the other plots are linked
        for key, plot in self.plots.items():
            arrays = [c[key].values for c in everything]
            if key == "val_loss" and self.live.baseline is not None:
                arrays.append(np.array([self.live.baseline]))
            y_range = padded_range(arrays, log=log and key in LOSS_KEYS)
            if y_range is not None:
                plot.setYRange(*with_headroom(y_range, self._above(key), plot.vb.height()), padding=0.0)

    def _above(self, key: str) -> float:
        """Pixels the plot `key` keeps free above its data: the legend's height (top right of the training loss)
        or the unigram baseline's label (above its line, which is the top of the range once the model beats it)."""
        if key == "train_loss":
            return self.legend.boundingRect().height() + HEADROOM_PX
        if key == "val_loss" and self.baseline.isVisible():
            return self.baseline.label.boundingRect().height() + HEADROOM_PX
        return 0.0

    # ---- interaction -----------------------------------------------------------------------------------

    @Slot()
    def _on_user_range(self) -> None:
        self._follow = False

    @Slot()
    def fit(self) -> None:
        self._follow, self._range_pending, self._ranged_at = True, True, 0.0
        self._tick()

    @Slot(object)
    def _on_mouse_moved(self, pos: QPointF) -> None:
        key = next((k for k, plot in self.plots.items() if plot.sceneBoundingRect().contains(pos)), None)
        series = self.live[key] if key is not None else None
        if series is None or len(series) == 0:
            for vline in self.vlines.values():
                vline.setVisible(False)
            return
        xs = series.x(self.axis)
        i = nearest_index(xs, self.plots[key].vb.mapSceneToView(pos).x())
        for vline in self.vlines.values():
            vline.setPos(float(xs[i]))
            vline.setVisible(True)
        self.hover_label.setText(self._readout(key, i))

    def _readout(self, key: str, i: int) -> str:
        series = self.live[key]
        title = self.plots[key].titleLabel.text  # the technical term, or its plain words in classroom mode
        value = series.values[i]
        text = f"{title} at step {int(series.steps[i]):,} ({format_duration(series.seconds[i])}): {value:.4g}"
        if key == "train_loss":
            text += f", smoothed {self._emas['live'](series.values)[i]:.4g}"
        if key == "val_loss" and self.live.baseline is not None:
            text += f" ({self.baseline.label.format} {self.live.baseline:.4g})"
        return text
