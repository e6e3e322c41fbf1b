"""The Tokenizer panel's try-it box: typed text cut into pieces by the shown tokenizer as the user types, each
piece on its own colour, a bar before each piece that begins a word, and the ids underneath.

Cutting a few thousand characters is fast enough for the GUI thread; the text is cut again 150 ms after the
last key.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QGroupBox, QLabel, QPlainTextEdit, QTextBrowser, QVBoxLayout, QWidget

from workbench.views.browse import Piece, text_pieces

if TYPE_CHECKING:
    from workbench.core.tokenization import WorkbenchTokenizer

PASTELS = ("#ffd8d8", "#d4e8ff", "#d9f2d0", "#fff0b8", "#e8dcff", "#cdf1ee")
SPECIAL_COLOUR = "#d9d9d9"
WORD_START_MARK = '<span style="color:#1f3f8f; font-weight:bold;">▎</span>'
DEBOUNCE_MS = 150
LIVE_MAX_CHARS = 5000  # longer text is cut: thousands of coloured spans make the box sluggish
SHOWN_IDS = 60
TYPE_TIPS = {
    "wordpiece": "BERT's WordPiece: pieces inside a word start with ##",
    "bpe": "RoBERTa's byte-level BPE: a piece that starts a word begins with Ġ (a space)",
    "unigram": "Unigram (SentencePiece): a piece that starts a word begins with ▁",
    "char": "one piece per character; ▁ stands for the space before each word",
}


def pieces_html(pieces: list[Piece]) -> str:
    """Each piece on its own pastel background; a bar marks the pieces that begin a word, and pieces of one word
    touch, so both the cuts and the words stay visible."""
    spans = []
    for n, piece in enumerate(pieces):
        colour = SPECIAL_COLOUR if piece.special else PASTELS[n % len(PASTELS)]
        gap = " " + WORD_START_MARK if piece.word_start and n else WORD_START_MARK if piece.word_start else ""
        spans.append(f'{gap}<span style="background-color:{colour}; color:#000000;">{escape(piece.token)}</span>')
    return f'<p style="font-family:monospace; font-size:13pt; line-height:150%;">{"".join(spans)}</p>'


class LiveBox(QGroupBox):
    """Type text (`input`), see its pieces (`view`, `pieces`) and a summary with the ids (`summary`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Try it: type text to see its pieces", parent)
        self.tokenizer: WorkbenchTokenizer | None = None
        self.pieces: list[Piece] = []
        self.input = QPlainTextEdit("The children were running happily towards the station.")
        self.input.setMaximumHeight(70)
        self.input.setToolTip("Type anything: the box below shows how the selected tokenizer cuts it.")
        self.view = QTextBrowser()
        self.view.setToolTip("Each piece has its own colour; a bar marks a piece that begins a word.")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.render_pieces)
        self.input.textChanged.connect(self._timer.start)
        layout = QVBoxLayout(self)
        layout.addWidget(self.input)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.summary)

    def set_tokenizer(self, tokenizer: WorkbenchTokenizer | None) -> None:
        """Cut the text with `tokenizer` from now on (None: nothing to cut with)."""
        self.tokenizer = tokenizer
        self.render_pieces()

    @Slot()
    def render_pieces(self) -> None:
        """Cut the typed text with the tokenizer (called ~150 ms after the last key)."""
        if self.tokenizer is None:
            self.pieces = []
            self.view.setHtml('<p style="color:#777777;">Train or select a tokenizer to see how it cuts text.</p>')
            self.summary.setText("")
            return
        text = self.input.toPlainText()
        self.pieces = text_pieces(self.tokenizer, text[:LIVE_MAX_CHARS])
        self.view.setHtml(pieces_html(self.pieces))
        words = sum(piece.word_start for piece in self.pieces)
        summary = (f"{len(self.pieces)} pieces, {words} of them begin a word (the bar before them). "
                   f"{TYPE_TIPS[self.tokenizer.config.type]}.")
        if len(text) > LIVE_MAX_CHARS:
            summary += f" Only the first {LIVE_MAX_CHARS:,} characters are shown."
        ids = " ".join(str(piece.id) for piece in self.pieces[:SHOWN_IDS])
        more = " …" if len(self.pieces) > SHOWN_IDS else ""
        self.summary.setText(summary + (f"\nids: {ids}{more}" if ids else ""))
