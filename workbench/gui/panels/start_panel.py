"""The start page: three large first choices, each explained in one sentence, and the keyboard shortcuts.

The window opens on it while the home holds nothing of the user's (`views.start.is_fresh_home`), and the sidebar
keeps it reachable. The page only says what was chosen (its three signals); the window does it, since each
choice leads to another panel. Torch-free, like the Data panel: it may be the first panel the window paints.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCommandLinkButton, QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner

WELCOME = ("<h2>Welcome to MLM Workbench</h2>"
           "<p>A masked language model learns to fill in the blanks: it reads text with words hidden as "
           "<b>[MASK]</b> and guesses them. Start with one of these:</p>")
COLUMNS = 3  # of shortcuts
# (title, the one sentence that says what happens)
CHOICES = (
    ("Watch a model learn",
     "Quick start trains a tiny model on the bundled sample corpus: watch its loss curve fall as it learns."),
    ("Ask a model to fill in the blanks",
     "The Probe panel opens on a small model already trained on the bundled sample corpus (or on your newest "
     "imported model): type a sentence with [MASK] and see its guesses."),
    ("Train on your own text",
     "Paste a text or open a file: the workbench picks a tokenizer and a model, trains for a few minutes, then "
     "asks your model to fill in a word of your text."),
)


class StartPanel(QWidget):
    watch_requested = Signal()
    ask_requested = Signal()
    own_text_requested = Signal()

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        welcome = QLabel(WELCOME)
        welcome.setWordWrap(True)
        self.watch, self.ask, self.own_text = (self._choice(title, text) for title, text in CHOICES)
        self.watch.clicked.connect(self.watch_requested)
        self.ask.clicked.connect(self.ask_requested)
        self.own_text.clicked.connect(self.own_text_requested)
        self.shortcuts = QGroupBox("Keyboard shortcuts")
        self.shortcuts.setLayout(QGridLayout())
        column = QVBoxLayout()
        column.addWidget(welcome)
        for button in (self.watch, self.ask, self.own_text):
            column.addWidget(button)
        column.addSpacing(12)
        column.addWidget(self.shortcuts)
        column.addStretch(1)
        page = QWidget()
        page.setMinimumWidth(640)
        page.setMaximumWidth(760)
        page.setLayout(column)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 24, 24, 24)
        layout.addWidget(page, 0, Qt.AlignmentFlag.AlignHCenter)

    @staticmethod
    def _choice(title: str, sentence: str) -> QCommandLinkButton:
        button = QCommandLinkButton(title, sentence)
        font = QFont(button.font())
        font.setPointSizeF(font.pointSizeF() * 1.2)
        button.setFont(font)
        button.setMinimumHeight(72)
        return button

    def show_shortcuts(self, rows: list[tuple[str, str]]) -> None:
        """(key sequence, what it does) for every shortcut of the window, in three columns."""
        grid: QGridLayout = self.shortcuts.layout()
        per_column = -(-len(rows) // COLUMNS)
        for n, (keys, action) in enumerate(rows):
            row, column = n % per_column, 2 * (n // per_column)
            grid.addWidget(QLabel(f"<b>{keys}</b>"), row, column)
            grid.addWidget(QLabel(action), row, column + 1)
        for column in range(COLUMNS):
            grid.setColumnStretch(2 * column + 1, 1)


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(StartPanel)
