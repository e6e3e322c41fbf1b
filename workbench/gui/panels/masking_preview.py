"""The Masking panel's preview: one sentence as the model sees it, coloured by replacement, with the label to
predict under each chosen token; a sentence box and Re-roll (another draw with the same settings)."""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from workbench.core.mask_preview import MaskPreview

DEFAULT_SENTENCE = "the dogs near the old barn bark at the moon every night"
# Okabe-Ito colours: told apart with the common colour-vision deficiencies. (background, text)
COLOURS = {"mask": ("#0072B2", "#ffffff"), "random": ("#E69F00", "#000000"), "kept": ("#009E73", "#ffffff")}
TOKENS_PER_ROW = 12
SENTENCE_SCALE = 1.3


def preview_html(preview: MaskPreview) -> str:
    """Two rows per line of tokens: what the model sees (coloured by replacement), and the label under it."""
    tables = []
    for start in range(0, len(preview.tokens), TOKENS_PER_ROW):
        seen, labels = ["<td><i>input</i></td>"], ["<td><i>label</i></td>"]
        for i in range(start, min(start + TOKENS_PER_ROW, len(preview.tokens))):
            kind = preview.replacements[i]
            shown = html.escape(preview.corrupted_tokens[i] or "?")
            if kind is None:
                seen.append(f"<td align='center'>{shown}</td>")
                labels.append("<td></td>")
            else:
                background, text = COLOURS[kind]
                seen.append(f"<td align='center' bgcolor='{background}'><span style='color:{text}'>"
                            f"<b>{shown}</b></span></td>")
                labels.append(f"<td align='center'><span style='color:#555555'>"
                              f"{html.escape(preview.tokens[i] or '?')}</span></td>")
        tables.append(f"<table cellspacing='3' cellpadding='5'><tr>{''.join(seen)}</tr>"
                      f"<tr>{''.join(labels)}</tr></table>")
    return "".join(tables)


def legend_html() -> str:
    names = {"mask": "[MASK]", "random": "random token", "kept": "kept (unchanged)"}
    swatches = [f"<span style='background-color:{bg}; color:{fg}'>&nbsp;{names[k]}&nbsp;</span>"
                for k, (bg, fg) in COLOURS.items()]
    return "Colours: " + " &nbsp; ".join(swatches) + " &nbsp; the grey word under each is the label to predict"


def summary_text(preview: MaskPreview) -> str:
    """How many tokens were chosen and how each was replaced."""
    chosen = [kind for kind in preview.replacements if kind is not None]
    counts = ", ".join(f"{chosen.count(kind)} {name}" for kind, name in
                       (("mask", "[MASK]"), ("random", "random"), ("kept", "kept")))
    return f"{len(chosen)} of {len(preview.tokens) - 2} tokens chosen ({counts})"


class PreviewBox(QGroupBox):
    """The sentence box, Re-roll, and the coloured sentence; the panel fills it (`show_preview`)."""

    def __init__(self) -> None:
        super().__init__("Preview: what the model sees")
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.sentence_edit = QLineEdit(DEFAULT_SENTENCE)
        self.sentence_edit.setToolTip("Type any sentence to see how it would be masked.")
        self.reroll_button = QPushButton("Re-roll")
        self.reroll_button.setToolTip("Draw another random mask with the same settings.")
        row.addWidget(self.sentence_edit, 1)
        row.addWidget(self.reroll_button)
        layout.addLayout(row)
        self.status = QLabel("preparing a tokenizer...")
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self._scale_sentence()
        legend = QLabel(legend_html())
        legend.setWordWrap(True)  # large type (classroom mode) on a small screen
        for widget in (self.status, self.label, legend):
            layout.addWidget(widget)
        layout.addStretch(1)

    def _scale_sentence(self) -> None:
        """The sentence is the point of the panel: 1.3 x the box's type, whatever that is (classroom mode)."""
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * SENTENCE_SCALE)
        self.label.setFont(font)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._scale_sentence()

    def text(self) -> str:
        return self.sentence_edit.text().strip()

    def show_preview(self, preview: MaskPreview, about: str) -> None:
        self.label.setText(preview_html(preview))
        self.status.setText(f"{summary_text(preview)}; {about}")
