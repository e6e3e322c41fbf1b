"""The guided lesson's strip, docked at the bottom of the window: the step's title and what to say, Back and Next,
and the step's own button (Start training). Each step drives the real panels (`workbench.views.lesson` says what
each shows): the sample corpus in the Data panel, a masked sentence in the Masking panel, the bundled demo model
filling in blanks and showing its attention in the Probe panel, a quick-start run in the Train panel.

Shown with classroom mode (F11) or on its own from View → Lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, Slot
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.jobs.demo_model import find_demo_run
from workbench.settings.masking import MaskingConfig
from workbench.views.lesson import LESSON, LessonStep

if TYPE_CHECKING:
    from workbench.gui.main_window import MainWindow

TEXT_LINES = 3  # the step's text shows this many lines and scrolls for more, so the panels keep their room


class LessonStrip(QDockWidget):
    """The lesson's strip; `index` is the step shown (None before the lesson started)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("Lesson", window)
        self.window = window
        self.index: int | None = None
        self._waiting_for_demo = False  # a probing step waits for the demo model to be recorded in the home
        # the Masking panel's settings and sentence before the masking step showed BERT's 15% example: given back
        # when the lesson leaves that step, so the lesson does not cost the presenter their own set-up
        self._users_masking: tuple[MaskingConfig, str] | None = None
        self.setObjectName("lesson-strip")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.TopDockWidgetArea)
        self.heading = QLabel()
        self.text = QTextBrowser()
        self.text.setOpenLinks(False)
        self.back_button = QPushButton("◀ Back")
        self.back_button.setToolTip("The step before (Alt+Left)")
        self.back_button.setShortcut("Alt+Left")
        self.back_button.clicked.connect(self.back)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setToolTip("The next step (Alt+Right)")
        self.next_button.setShortcut("Alt+Right")
        self.next_button.clicked.connect(self.next)
        self.action_button = QPushButton()
        self.action_button.clicked.connect(self._do_action)
        buttons = QVBoxLayout()
        for button in (self.next_button, self.back_button, self.action_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        words = QVBoxLayout()
        words.addWidget(self.heading)
        words.addWidget(self.text, 1)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.addLayout(words, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self._fit_text()
        window.state.runs_changed.connect(self._on_runs_changed)

    # ---- moving through the lesson ---------------------------------------------------------------------------

    def open(self) -> None:
        """Show the strip; the first time, at the first step; at the masking step, with its example again."""
        self.show()
        if self.index is None:
            self.go(0)
        elif self.step.panel == "masking":
            self._drive(self.step)

    def start(self) -> None:
        """Show the strip at the first step (View → Lesson)."""
        self.show()
        self.go(0)

    @Slot()
    def next(self) -> None:
        self.go(min((self.index or 0) + 1, len(LESSON) - 1))

    @Slot()
    def back(self) -> None:
        self.go(max((self.index or 0) - 1, 0))

    def go(self, index: int) -> None:
        """Show step `index` in the strip and on the panels."""
        if self.index is not None and self.step.panel == "masking" and LESSON[index].panel != "masking":
            self._give_back_masking()
        self.index = index
        step = self.step
        self.heading.setText(f"<b>Step {index + 1} of {len(LESSON)}: {step.title}</b>")
        self.text.setPlainText(step.text)
        self.back_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < len(LESSON) - 1)
        self.action_button.setVisible(bool(step.action))
        self.action_button.setText(step.action)
        self._drive(step)

    @property
    def step(self) -> LessonStep:
        return LESSON[self.index or 0]

    # ---- driving the panels ----------------------------------------------------------------------------------

    def _drive(self, step: LessonStep) -> None:
        window, state = self.window, self.window.state
        self._waiting_for_demo = False
        window.show_panel_named(step.panel)
        if step.panel == "data":
            state.set_corpus(None)  # the bundled sample: the Data panel selects it and previews its documents
        elif step.panel == "masking":
            self._show_masking_example(step)
        elif step.panel == "probe":
            self._probe(step)
        elif step.panel == "train":
            self.action_button.setEnabled(window.train.task is None)

    def _show_masking_example(self, step: LessonStep) -> None:
        """BERT's 15% and 80/10/10 on the step's sentence, as the step says; the user's own kept to give back."""
        state, sentence = self.window.state, self.window.masking.preview_box.sentence_edit
        if self._users_masking is None:
            self._users_masking = (state.masking, sentence.text())
        state.set_masking(MaskingConfig(seed=state.masking.seed))
        sentence.setText(step.sentence)

    def _give_back_masking(self) -> None:
        """The Masking panel's settings and sentence from before the masking step, except what the presenter
        changed during the step (that is theirs now)."""
        if self._users_masking is None:
            return
        (config, text), self._users_masking = self._users_masking, None
        state, sentence = self.window.state, self.window.masking.preview_box.sentence_edit
        if state.masking == MaskingConfig(seed=state.masking.seed):
            state.set_masking(config)
        if sentence.text() == self.step.sentence:
            sentence.setText(text)

    def _probe(self, step: LessonStep) -> None:
        """The Probe panel on the demo model, the step's view and sentence."""
        probe = self.window.probe
        view = probe.fill if step.tab == "fill" else probe.attention
        probe.tabs.setCurrentWidget(view)
        view.text.setText(step.sentence)
        demo = find_demo_run(self.window.state.store)
        if demo is None:  # recorded on a worker after the window's first paint: shown when it is there
            self._waiting_for_demo = True
            return
        if probe.primary.run.currentData() != demo.id:
            probe.show_run(demo.id)

    @Slot()
    def _on_runs_changed(self) -> None:
        if self._waiting_for_demo and self.isVisible() and self.step.panel == "probe":
            self._probe(self.step)

    @Slot()
    def _do_action(self) -> None:
        """The step's own button: Start training (a quick start on the sample corpus)."""
        self.window.quick_start()
        self.action_button.setEnabled(False)

    def hideEvent(self, event: QHideEvent) -> None:
        """Closing the strip (or classroom mode) ends the lesson: the Masking panel gets its own settings back. A
        minimised window hides it too (a spontaneous event): the lesson goes on."""
        super().hideEvent(event)
        if not event.spontaneous() and self.index is not None and self.step.panel == "masking":
            self._give_back_masking()

    # ---- size ------------------------------------------------------------------------------------------------

    def _fit_text(self) -> None:
        lines = self.text.fontMetrics().lineSpacing() * TEXT_LINES
        self.text.setFixedHeight(lines + 2 * self.text.frameWidth() + 8)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # classroom mode's large type: the text keeps its lines
            self._fit_text()
