""""Train on your own text" (issue 15): a big box to paste text into (or "Open a text file…" to fill it), a name,
how long to train in plain words, and the plan the job picks for this text and machine (tokenizer, model, length,
time), each choice with its reason, shown before Start. Start hands the text and the plan to the window, which
trains it in the Train panel and then opens the Probe panel on a sentence the model did not train on.

The plan follows the text as it is typed (debounced): counting the words of a book takes a few tens of ms.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.state import AppState
from workbench.jobs.corpora import unique_corpus_name
from workbench.jobs.own_text import DEFAULT_MINUTES, MIN_WORDS, OwnTextPlan
from workbench.views.own_text import plan_for_text, plan_text

INTRO = ("<b>Paste a text</b> (a few pages or more: at least {:,} words) <b>or open a text file</b>. The workbench "
         "picks everything for you and trains; when the time is up, the Probe panel asks your model to fill in a "
         "word of a sentence it did not train on.").format(MIN_WORDS)
MAX_FILE_MB = 20  # a bigger text belongs in the Data panel: the box would hold it all in memory, twice
ERROR_STYLE = "color: #c0392b;"
DEBOUNCE_MS = 300
# starts the plan (text, plan): True when it started, False when it could not (the window said why)
Start = Callable[[str, OwnTextPlan], bool]


class OwnTextDialog(QDialog):
    def __init__(self, state: AppState, start: Start, cores: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train on your own text")
        self.state = state
        self._start = start
        self.cores = cores or os.cpu_count() or 1
        self.plan: OwnTextPlan | None = None
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh_plan)
        self._build()
        self.refresh_plan()
        self.resize(900, 620)

    def _build(self) -> None:
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setPlaceholderText("Paste your text here: a short story, notes, articles, a book…")
        self.text.textChanged.connect(self._timer.start)
        self.open_button = QPushButton("Open a text file…")
        self.open_button.setToolTip("Put the text of a plain-text file (.txt, .md) in the box above.")
        self.open_button.clicked.connect(self._choose_file)
        self.name = QLineEdit("my text")
        self.name.setToolTip("What to call the text in the Data panel and the run in the Runs panel.")
        self.name.textChanged.connect(self._timer.start)
        self.minutes = QDoubleSpinBox()
        self.minutes.setRange(0.1, 600.0)
        self.minutes.setDecimals(1)
        self.minutes.setSingleStep(1.0)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setSuffix(" minutes")
        self.minutes.setToolTip("How long the model trains. The run ends on time on any computer: the learning "
                                "rate falls as the time runs out. Longer training gives better answers.")
        self.minutes.valueChanged.connect(self._timer.start)
        row = QHBoxLayout()
        row.addWidget(self.open_button)
        row.addSpacing(16)
        row.addWidget(QLabel("Name:"))
        row.addWidget(self.name, 1)
        row.addSpacing(16)
        row.addWidget(QLabel("Train for"))
        row.addWidget(self.minutes)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.plan_label = QLabel()
        self.plan_label.setWordWrap(True)
        plan_box = QGroupBox("What will be trained")
        plan_layout = QVBoxLayout(plan_box)
        plan_layout.addWidget(self.plan_label)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setToolTip("Train the plan above; the Train panel shows the loss curve as it learns.")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(plan_box)
        layout.addWidget(self.buttons)

    # ---- the text ---------------------------------------------------------------------------------------------

    @Slot()
    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a text file", str(Path.home()),
                                              "Text files (*.txt *.md *.text);;All files (*)")
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> bool:
        """Put the text of the file at `path` in the box (named after the file); False, with the reason in plain
        words, when it cannot be read as text."""
        problem = None
        try:
            if path.stat().st_size > MAX_FILE_MB << 20:
                problem = (f"{path.name} is larger than {MAX_FILE_MB} MB: too much for this box. Add it as a corpus "
                           "in the Data panel instead, then train on it in the Train panel.")
            else:
                text = path.read_bytes().decode("utf-8-sig")
                if "\x00" in text:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL")
        except UnicodeDecodeError:
            problem = (f"{path.name} is not plain text (or not in UTF-8, the usual encoding): save it as plain "
                       "text (.txt, UTF-8) and open it again, or copy its text and paste it here.")
        except OSError as error:
            problem = (f"{path.name} could not be read ({error.strerror or 'unreadable'}): check that it exists "
                       "and that you may read it.")
        if problem is not None:
            self._say(problem, error=True)
            return False
        self.name.setText(path.stem)
        self.text.setPlainText(text)
        self.refresh_plan()
        return True

    # ---- the plan ---------------------------------------------------------------------------------------------

    @Slot()
    def refresh_plan(self) -> None:
        """Plan the text in the box as it is now: the plan and Start, or why not."""
        self._timer.stop()
        name = unique_corpus_name(self.state.store, self.name.text().strip() or "my text")
        words, self.plan = plan_for_text(name, self.text.toPlainText(), self.cores, self.minutes.value())
        self._say(words, error=self.plan is None and bool(self.text.toPlainText().strip()))
        self.plan_label.setText(plan_text(self.plan) if self.plan is not None else
                                "The plan appears here once the text is long enough.")
        self.start_button.setEnabled(self.plan is not None)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(ERROR_STYLE if error else "")

    @Slot()
    def start(self) -> None:
        """Train the plan of the text as it is now (an edit still waiting for its plan is planned first); the
        dialog closes when it started."""
        if self._timer.isActive():
            self.refresh_plan()
        if self.plan is not None and self._start(self.text.toPlainText(), self.plan):
            self.accept()
