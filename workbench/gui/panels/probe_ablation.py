"""The Attention view's "Switch heads off" controls: which heads are off and how (output zeroed, or replaced by its
mean over the sentence), said in words, and "Rank heads by importance": every head switched off in turn on a cloze
sentence (by the drop in the answer's log-probability) or on a cloze suite (by the drop in precision@1), shown as a
layers x heads grid coloured by that drop. A click on a head, here or in the thumbnail grid with "Switch heads off"
ticked, switches it off or on; Fill-mask and Scoring then show the ablated model beside the intact one. The model's
weights are never changed: the heads are masked in the forward pass only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing.ablation import Head, HeadRanking
from workbench.gui.panels.probe_common import Computation, ProbeContext, message_label, model_title, show_message
from workbench.jobs.probe import default_suite_path
from workbench.jobs.workspace import in_workspace
from workbench.views.glossary import head_label, layer_label
from workbench.views.lens_views import MODE_WORDS, RANKING_HEADER, Ablation, rank_for_model, ranking_rows
from workbench.views.probe_export import write_csv
from workbench.views.probe_views import parse_targets

DEFAULT_CLOZE = "the cow says [MASK]."
OFF_COLOUR = QColor("#d62728")
HELPED, HURT = np.array([214, 39, 40], dtype=np.float32), np.array([33, 102, 172], dtype=np.float32)
WHITE = np.array([255, 255, 255], dtype=np.float32)


def drop_colour(drop: float, largest: float) -> QColor:
    """White for no change, red as switching the head off costs more, blue where the model does better without it."""
    share = min(abs(drop) / largest, 1.0) if largest > 0 else 0.0
    rgb = WHITE + share * ((HELPED if drop > 0 else HURT) - WHITE)
    return QColor(*rgb.astype(int))


class ImportanceGrid(QWidget):
    """Layers (rows) x heads (columns): each head's drop when switched off, heads that are off crossed out."""

    toggled = Signal(int, int)  # layer, head

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.shape = (0, 0)
        self.drops: dict[Head, float] = {}
        self.off: set[Head] = set()
        self.title = ""
        self.setMinimumSize(200, 140)
        self.setToolTip("Each head's cost when switched off alone (red: the answer got less likely; blue: more). "
                        "Click a head to switch it off or on; a cross marks heads that are off.")

    def set_shape(self, layers: int, heads: int) -> None:
        if (layers, heads) != self.shape:
            self.shape, self.drops = (layers, heads), {}
            self.update()

    def set_ranking(self, ranking: HeadRanking | None, title: str = "") -> None:
        self.drops = {} if ranking is None else {(e.layer, e.head): e.drop for e in ranking.heads}
        self.title = title
        self.update()

    def set_off(self, heads: tuple[Head, ...]) -> None:
        self.off = set(heads)
        self.update()

    def _cell(self) -> tuple[float, float, float]:
        layers, heads = self.shape
        metrics = QFontMetrics(self.font())
        left, top = metrics.horizontalAdvance(layer_label(max(layers - 1, 0))) + 6, 2 * metrics.height()
        size = min((self.width() - left) / max(heads, 1), (self.height() - top) / max(layers, 1))
        return left, top, max(size, 6.0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), Qt.GlobalColor.white)
        layers, heads = self.shape
        if not layers:
            return
        left, top, size = self._cell()
        height = QFontMetrics(self.font()).height()
        painter.drawText(QRectF(0, 0, self.width(), height), Qt.AlignmentFlag.AlignVCenter, self.title)
        for head in range(heads):
            painter.drawText(QRectF(left + head * size, height, size, height), Qt.AlignmentFlag.AlignCenter,
                             head_label(head))
        largest = max((abs(d) for d in self.drops.values()), default=0.0)
        for layer in range(layers):
            painter.setPen(Qt.GlobalColor.black)
            painter.drawText(QRectF(0, top + layer * size, left, size), Qt.AlignmentFlag.AlignCenter,
                             layer_label(layer))
            for head in range(heads):
                box = QRectF(left + head * size + 1, top + layer * size + 1, size - 2, size - 2)
                drop = self.drops.get((layer, head))
                painter.fillRect(box, drop_colour(drop, largest) if drop is not None else QColor("#f4f4f4"))
                painter.setPen(QPen(QColor("#cccccc"), 1))
                painter.drawRect(box)
                if drop is not None and size >= 30:
                    painter.setPen(Qt.GlobalColor.black)
                    painter.drawText(box, Qt.AlignmentFlag.AlignCenter, f"{drop:+.2f}")
                if (layer, head) in self.off:
                    painter.setPen(QPen(OFF_COLOUR, 2))
                    painter.drawLine(box.topLeft(), box.bottomRight())
                    painter.drawLine(box.topRight(), box.bottomLeft())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        layers, heads = self.shape
        left, top, size = self._cell()
        layer, head = int((event.position().y() - top) // size), int((event.position().x() - left) // size)
        if event.position().y() >= top and event.position().x() >= left and 0 <= layer < layers and 0 <= head < heads:
            self.toggled.emit(layer, head)


class AblationControls(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.ranking: HeadRanking | None = None
        self.computation = Computation(context.runner, "rank heads", self, self._on_ranked, self._on_failed)
        self._build()
        context.ablation_changed.connect(self._show_ablation)
        context.models_changed.connect(self._show_ablation)  # heads another model lacks were dropped
        self._show_ablation()

    def _build(self) -> None:
        self.switch = QCheckBox("Switch heads off")
        self.switch.setToolTip("Then a click on a head in the grids switches it off (or on again). Fill-mask and "
                               "Scoring show the model without those heads beside the intact one.")
        self.mode = QComboBox()
        for mode, words in MODE_WORDS.items():
            self.mode.addItem(words, mode)
        self.mode.setToolTip("Zeroed: the head adds nothing (Michel et al. 2019). Mean: it adds its average over "
                             "the sentence, so only what depends on the token is removed.")
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.all_on = QPushButton("All heads on")
        self.all_on.clicked.connect(lambda: self.context.set_ablation(Ablation((), self.context.ablation.mode)))
        self.summary = QLabel()
        self.cloze = QLineEdit(DEFAULT_CLOZE)
        self.cloze.setToolTip("A sentence with [MASK]: each head is switched off in turn and ranked by how much less "
                              "likely the answer becomes.")
        self.answer = QLineEdit()
        self.answer.setPlaceholderText("answer (default: the model's guess)")
        self.on_suite = QCheckBox("on a cloze suite")
        self.on_suite.setToolTip("Rank by the drop in precision@1 over a cloze suite instead of one sentence.")
        self.suite_file = QLineEdit()
        self.suite_file.setPlaceholderText("suite file (default: the bundled cloze suite)")
        self.rank_button = QPushButton("Rank heads by importance")
        self.rank_button.clicked.connect(self.rank)
        self.grid = ImportanceGrid()
        self.grid.toggled.connect(self.toggle)
        self.status = message_label()
        first, second, third = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        for widget in (self.switch, self.mode, self.all_on):
            first.addWidget(widget)
        first.addStretch(1)
        for widget in (self.cloze, self.answer):
            second.addWidget(widget)
        for widget in (self.on_suite, self.suite_file, self.rank_button):
            third.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(first)
        layout.addWidget(self.summary)
        layout.addLayout(second)
        layout.addLayout(third)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.status)

    @Slot(int, int)
    def toggle(self, layer: int, head: int) -> None:
        self.context.set_ablation(self.context.ablation.toggled((layer, head)))

    @Slot()
    def _on_mode(self) -> None:
        self.context.set_ablation(Ablation(self.context.ablation.heads, self.mode.currentData()))

    @Slot()
    def _show_ablation(self) -> None:
        ablation = self.context.ablation
        self.summary.setText(f"<b>{ablation.caption()}</b>" if ablation.active else "all heads on (intact model)")
        self.grid.set_off(ablation.heads)

    @Slot()
    def rank(self) -> None:
        model = self.context.primary
        if model is None:
            return
        text, answers, mode = self.cloze.text(), parse_targets(self.answer.text()), self.context.ablation.mode
        suite = (self.suite_file.text().strip() or None) if self.on_suite.isChecked() else None
        home, on_suite = self.context.state.home, self.on_suite.isChecked()

        def work() -> HeadRanking:
            path = suite or (str(in_workspace(home, default_suite_path)) if on_suite else None)
            return rank_for_model(model, text, answers, path, mode)

        show_message(self.status, "switching each head off in turn ...")
        self.computation.request(work)

    @Slot(object)
    def _on_ranked(self, ranking: HeadRanking) -> None:
        self.ranking = ranking
        what = "log P(answer)" if ranking.metric == "log_prob" else "precision@1"
        answers = f" ({', '.join(ranking.answers)})" if ranking.answers else ""
        self.grid.set_ranking(ranking, f"drop in {what}{answers} with each head {MODE_WORDS[ranking.mode]}; "
                                       f"intact {ranking.intact:.3f}")
        best = ", ".join(f"{e.layer}.{e.head} ({e.drop:+.3f})" for e in ranking.heads[:3])
        show_message(self.status, f"{model_title(self.context.primary)}: most important {best} · computed in "
                                  f"{self.computation.last_ms:.0f} ms")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        show_message(self.status, message, error=True)

    def write_ranking_csv(self, path: Path) -> Path:
        if self.ranking is None:
            raise ValueError("rank the heads first")
        return write_csv(path, RANKING_HEADER, ranking_rows(self.ranking))
