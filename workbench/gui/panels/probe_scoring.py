"""The Scoring view: several sentences (one per line) ranked by pseudo-log-likelihood (Salazar et al. 2020: each
token masked in turn, the log-probabilities of the originals summed) with their pseudo-perplexity, every token
coloured by its contribution: green where the model expected it, red where it was surprised. With a second
checkpoint chosen, both rankings stand side by side. With heads switched off in the Attention view, the scores
are the ablated model's, each with the intact model's PLL and the change.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QKeySequence, QShortcut, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.core.probing import PLL_METHODS, SentenceScore
from workbench.gui.panels.probe_common import Computation, ProbeContext, message_label, model_title, show_message
from workbench.gui.panels.probe_export import ExportButton, ExportTarget
from workbench.views.lens_views import scores_for_models
from workbench.views.probe_export import SCORING_HEADER, file_stem, scoring_rows, write_csv
from workbench.views.probe_views import SURPRISING_LOG_PROB, contribution_colour, parse_lines, score_for_models

DEFAULT_SENTENCES = "the cow says moo.\nmoo says the cow.\nthe dog says moo.\nthe cow says woof."
METHOD_TIPS = {
    "original": "Mask one piece at a time (the standard score; a long word's later pieces are easy to guess).",
    "word-l2r": "Also hide the later pieces of the same word, so a word of several pieces is not scored too kindly.",
}


def score_html(model_name: str, scores: list[SentenceScore], intact: list[SentenceScore] | None = None) -> str:
    """The ranked sentences of one model, each token on a background of its contribution's colour; with `intact`
    (the same model's scores with every head on), each PLL's change from it."""
    intact_pll = {s.sentence: s.pll for s in intact or []}
    parts = [f"<h4>{html.escape(model_name)}</h4>"]
    for score in scores:
        tokens = " ".join(
            f"<span style='background-color:{contribution_colour(t.log_prob)}'>&nbsp;{html.escape(t.token)}&nbsp;"
            f"</span><sub>{t.log_prob:.1f}</sub>" for t in score.tokens)
        change = (f" (intact {intact_pll[score.sentence]:.2f}, change "
                  f"<b>{score.pll - intact_pll[score.sentence]:+.2f}</b>)") if score.sentence in intact_pll else ""
        parts.append(f"<p><b>{score.rank}.</b> PLL <b>{score.pll:.2f}</b>{change} · pseudo-perplexity "
                     f"{score.pseudo_perplexity:.1f}<br>{tokens}</p>")
    return "".join(parts)


LEGEND = (f"Each token's background: <span style='background-color:{contribution_colour(0)}'>&nbsp;expected&nbsp;"
          f"</span> to <span style='background-color:{contribution_colour(SURPRISING_LOG_PROB)}'>&nbsp;surprising"
          "&nbsp;</span>; the small number is its log-probability (its share of the PLL). Higher PLL and lower "
          "pseudo-perplexity mean the model finds the sentence more natural.")


class ScoringView(QWidget):
    def __init__(self, context: ProbeContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.scores: list[list[SentenceScore]] = []
        self.titles: list[str] = []
        self.computation = Computation(context.runner, "scoring", self, self._show_scores, self._show_error)
        self._stale = False  # models changed while the view was hidden: score when it is shown
        self._build()
        self.intact: list[list[SentenceScore]] | None = None  # with heads off: the intact model's scores
        context.models_changed.connect(self._on_models_changed)
        context.ablation_changed.connect(self._on_models_changed)

    def _build(self) -> None:
        self.sentences = QPlainTextEdit(DEFAULT_SENTENCES)
        self.sentences.setToolTip("Sentences to compare, one per line.")
        self.sentences.setMaximumHeight(110)
        self.method = QComboBox()
        for method in PLL_METHODS:
            self.method.addItem(method, method)
            self.method.setItemData(self.method.count() - 1, METHOD_TIPS[method], Qt.ItemDataRole.ToolTipRole)
        self.method.setToolTip("How a word made of several pieces is scored. " + " ".join(METHOD_TIPS.values()))
        self.method.currentIndexChanged.connect(self.compute)
        self.score_button = QPushButton("Score (Ctrl+Enter)")
        self.score_button.setToolTip("Rank the sentences by how natural the model finds them.")
        self.score_button.clicked.connect(self.compute)
        QShortcut(QKeySequence("Ctrl+Return"), self.sentences, self.compute)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Method:"))
        controls.addWidget(self.method)
        controls.addStretch(1)
        controls.addWidget(self.score_button)
        self.columns = QSplitter(Qt.Orientation.Horizontal)
        self.browsers = [QTextBrowser(), QTextBrowser()]
        for browser in self.browsers:
            self.columns.addWidget(browser)
        legend = QLabel(LEGEND)
        legend.setWordWrap(True)
        self.status = message_label()
        self.export_button = ExportButton([ExportTarget(
            "scores", self.columns, self._write_csv, lambda: file_stem("scores", *self.titles[:1]),
            lambda: bool(self.scores))], self.status)
        controls.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.sentences)
        layout.addLayout(controls)
        layout.addWidget(legend)
        layout.addWidget(self.columns, 1)
        layout.addWidget(self.status)

    @Slot()
    def _on_models_changed(self) -> None:
        # Scoring runs one masked copy per token: skip it for a hidden view, where nobody would see it.
        self._stale = not self.isVisible()
        if not self._stale:
            self.compute()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.compute()

    @Slot()
    def compute(self) -> None:
        models, sentences = list(self.context.models), parse_lines(self.sentences.toPlainText())
        if not models:
            return
        if not sentences:
            show_message(self.status, "write one or more sentences, one per line", error=True)
            return
        method, ablation = self.method.currentData(), self.context.ablation
        titles = [model_title(m) + (f" · {ablation.caption()}" if ablation.active else "") for m in models]
        show_message(self.status, "scoring ...")

        def work() -> tuple:
            intact = score_for_models(models, sentences, method)
            if not ablation.active:
                return titles, intact, None
            return titles, scores_for_models(models, sentences, method, ablation), intact

        self.computation.request(work)

    @Slot(object)
    def _show_scores(self, result: tuple) -> None:
        self.titles, self.scores, self.intact = result
        for index, browser in enumerate(self.browsers):
            browser.setVisible(index < len(self.titles))
            if index < len(self.titles):
                intact = self.intact[index] if self.intact is not None else None
                browser.setHtml(score_html(self.titles[index], self.scores[index], intact))
        show_message(self.status, f"scored in {self.computation.last_ms:.0f} ms")

    @Slot(str)
    def _show_error(self, message: str) -> None:
        show_message(self.status, message, error=True)

    def _write_csv(self, path: Path) -> Path:
        return write_csv(path, SCORING_HEADER, scoring_rows(self.titles, self.scores))
