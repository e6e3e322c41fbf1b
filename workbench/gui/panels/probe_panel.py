"""The Probe panel: see what a trained model has learned. A run and one of its checkpoints (the latest by
default), optionally a second checkpoint to compare side by side, the precision the models compute in (advanced:
fp32, or bf16 where it is faster), and five views as tabs: Fill-mask, Attention, Scoring (free sentences, and
minimal-pair suites), Suites (cloze) and Neighbours.

Models load on a worker thread from `workbench.jobs.probe`'s cache, so switching back to a checkpoint seen
recently is instant. With no trained run yet, the panel says how to get one.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.advanced import mark_expert
from workbench.gui.notify import notify_window
from workbench.gui.open_hf_dialog import open_hf_button, open_hf_dialog
from workbench.gui.panels.probe_attention import AttentionView
from workbench.gui.panels.probe_common import Computation, ProbeContext, message_label, model_title, show_message
from workbench.gui.panels.probe_fill import FillMaskView
from workbench.gui.panels.probe_neighbours import NeighboursView
from workbench.gui.panels.probe_pairs import PairSuiteView
from workbench.gui.panels.probe_scoring import ScoringView
from workbench.gui.panels.probe_suite import SuiteView
from workbench.gui.settings_form import editor
from workbench.gui.sizing import size_to_current
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner
from workbench.jobs.own_text import Question
from workbench.jobs.workspace import in_workspace
from workbench.views.glossary import explain, words
from workbench.views.own_text import question_html
from workbench.settings.probe import ProbeConfig
from workbench.views.probe_views import checkpoint_label, load_models, probe_runs

EMPTY_TEXT = ("<h3>No trained model to probe yet</h3>"
              "<p>Probing asks a trained model questions, so train one first: press <b>Quick start</b> in the "
              "toolbar (a tiny model on the bundled sample corpus), or set up a run in the <b>Train</b> panel.</p>"
              "<p>A run appears here as soon as it has saved its first checkpoint.</p>"
              "<p>Or <a href=\"open-hf\">open a Hugging Face model</a> (BERT, RoBERTa, DistilBERT) from your "
              "Hugging Face cache or a folder.</p>")


class CheckpointPicker(QWidget):
    """A run and one of its checkpoints (the latest unless the user picks another)."""

    def __init__(self, run_tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.run = QComboBox()
        self.run.setToolTip(run_tip)
        self.run.setMinimumContentsLength(12)  # two pickers side by side fit 1280 px
        self.checkpoint = QComboBox()
        self.checkpoint.setToolTip("Which saved moment of the run's training to use; the latest is the default.")
        self.checkpoint.setMinimumContentsLength(14)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.run, 1)
        layout.addWidget(self.checkpoint, 1)

    def fill_runs(self, runs: list[tuple[int, str]]) -> None:
        current = self.run.currentData()
        self.run.blockSignals(True)
        self.run.clear()
        for run_id, text in runs:
            self.run.addItem(text, run_id)
        index = self.run.findData(current)
        self.run.setCurrentIndex(index if index >= 0 else 0)
        self.run.blockSignals(False)

    def fill_checkpoints(self, checkpoints: list[tuple[int, str]], keep: bool) -> None:
        current = self.checkpoint.currentData() if keep else None
        latest_chosen = keep and self.checkpoint.currentIndex() == self.checkpoint.count() - 1
        self.checkpoint.blockSignals(True)
        self.checkpoint.clear()
        for step, text in checkpoints:
            self.checkpoint.addItem(text, step)
        index = self.checkpoint.findData(current)
        # A user on the latest checkpoint follows new ones as training saves them.
        self.checkpoint.setCurrentIndex(self.checkpoint.count() - 1 if index < 0 or latest_chosen else index)
        self.checkpoint.blockSignals(False)

    def choice(self) -> tuple[int, int] | None:
        if self.run.currentData() is None or self.checkpoint.currentData() is None:
            return None
        return self.run.currentData(), self.checkpoint.currentData()


class ProbePanel(QWidget):
    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.runner = runner
        self.context = ProbeContext(state, runner, self)
        self.loader = Computation(runner, "load model", self, self._on_loaded, self._on_load_failed)
        self._loaded_choice: tuple[list[tuple[int, int]], str] | None = None  # the models and their precision
        self._build()
        state.runs_changed.connect(self.refresh)
        state.run_added.connect(self.show_run)
        self.refresh()

    def _build(self) -> None:
        self.primary = CheckpointPicker("The training run whose model to probe (runs with a saved checkpoint).")
        self.compare = QCheckBox("Compare with")
        self.compare.setToolTip("Show a second checkpoint (of this run or another) next to the first, "
                                "on the same input, in Fill-mask and Scoring.")
        self.secondary = CheckpointPicker("The run of the second model to compare with.")
        self.secondary.setEnabled(False)
        for picker in (self.primary, self.secondary):
            picker.run.currentIndexChanged.connect(self._on_run_changed)
            picker.checkpoint.currentIndexChanged.connect(self._load)
        self.compare.toggled.connect(self.secondary.setEnabled)
        self.compare.toggled.connect(self._load)
        self.precision = editor(ProbeConfig.spec("precision"))
        self.precision.currentTextChanged.connect(self._load)
        precision_label = QLabel("Precision:")
        self.status = message_label()
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Model:"))
        chooser.addWidget(self.primary, 3)
        chooser.addSpacing(12)
        open_hf = open_hf_button(self, self.state, self.runner)
        # classroom mode: one model, the one on screen, in fp32
        mark_expert(self.compare, self.secondary, open_hf, precision_label, self.precision)
        chooser.addWidget(self.compare)
        chooser.addWidget(self.secondary, 3)
        chooser.addWidget(precision_label)
        chooser.addWidget(self.precision)
        chooser.addWidget(open_hf)
        self.fill = FillMaskView(self.context)
        self.attention = AttentionView(self.context)
        self.scoring = ScoringView(self.context)
        self.pair_suites = PairSuiteView(self.context)
        self.scoring_tabs = QTabWidget()  # Scoring: free sentences, and minimal-pair suites
        self.scoring_tabs.addTab(self.scoring, "Sentences")
        self.scoring_tabs.addTab(self.pair_suites, "Suites")
        self.suites = SuiteView(self.context)
        self.neighbours = NeighboursView(self.context)
        self.tabs = QTabWidget()
        for view, title in ((self.fill, "Fill-mask"), (self.attention, "Attention"), (self.scoring_tabs, "Scoring"),
                            (self.suites, "Suites"), (self.neighbours, "Neighbours")):
            self.tabs.addTab(view, title)
        self.tabs.currentChanged.connect(lambda: size_to_current(self.tabs))
        size_to_current(self.tabs)
        self.state.classroom_changed.connect(self._on_classroom)
        self._on_classroom(self.state.classroom)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.addLayout(chooser)
        content_layout.addWidget(self.status)
        self.question = QLabel()  # the held-out question of "Train on your own text", on its run
        self.question.setWordWrap(True)
        self.question.setStyleSheet("background: #eef4fb; padding: 6px; border-radius: 4px;")
        self.question.hide()
        self._question_run: int | None = None
        self.held_out: Question | None = None  # that question, its answer and the unigram guess
        content_layout.addWidget(self.question)
        content_layout.addWidget(self.tabs, 1)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setMargin(40)
        self.empty.linkActivated.connect(lambda: open_hf_dialog(self, self.state, self.runner))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)

    @Slot(bool)
    def _on_classroom(self, plain: bool) -> None:
        """Classroom mode: the lesson's two views, their names in plain words (the technical term on hover); the
        expert views (scoring, suites, neighbours) are hidden."""
        for view, term, title in ((self.fill, "fill_mask", "Fill-mask"), (self.attention, "attention", "Attention")):
            index = self.tabs.indexOf(view)
            self.tabs.setTabText(index, words(term, True).capitalize() if plain else title)
            self.tabs.setTabToolTip(index, explain(term) if plain else "")
        for view in (self.scoring_tabs, self.suites, self.neighbours):
            self.tabs.setTabVisible(self.tabs.indexOf(view), not plain)

    # ---- runs and checkpoints ------------------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Re-read the runs that can be probed (after training, deleting, or when the panel is shown)."""
        runs = probe_runs(self.state.store)
        self.stack.setCurrentIndex(1 if runs else 0)
        entries = [(run.id, f"{run.name} ({run.status})") for run in runs]
        for picker in (self.primary, self.secondary):
            picker.fill_runs(entries)
            self._fill_checkpoints(picker, keep=True)
        self._load()

    def _fill_checkpoints(self, picker: CheckpointPicker, keep: bool) -> None:
        run_id = picker.run.currentData()
        checkpoints = self.state.store.checkpoints(run_id) if run_id is not None else []
        picker.fill_checkpoints([(c.step, checkpoint_label(c)) for c in checkpoints], keep)

    @Slot(int)
    def show_run(self, run_id: int) -> None:
        """Probe this run (one just imported)."""
        self.refresh()
        self.primary.run.setCurrentIndex(max(self.primary.run.findData(run_id), 0))

    def show_question(self, run_id: int, question: Question) -> None:
        """Probe this run on its held-out question: the sentence with its word masked in Fill-mask, and what the
        model gives the word beside the unigram guess above the tabs (while this run is the one probed)."""
        self._question_run, self.held_out = run_id, question
        self.question.setText(question_html(question))
        self.show_run(run_id)
        self.tabs.setCurrentWidget(self.fill)
        self.fill.text.setText(question.masked)
        self._show_question_of_run()

    def _show_question_of_run(self) -> None:
        run_id = self.primary.run.currentData()
        self.question.setVisible(self._question_run is not None and run_id == self._question_run)

    @Slot()
    def _on_run_changed(self) -> None:
        self._show_question_of_run()
        picker = self.primary if self.sender() is self.primary.run else self.secondary
        self._fill_checkpoints(picker, keep=False)
        self._load()

    def choices(self) -> list[tuple[int, int]]:
        """(run id, step) of the model to probe, and of the comparison when it is on."""
        pickers = [self.primary, self.secondary] if self.compare.isChecked() else [self.primary]
        return [c for c in (p.choice() for p in pickers) if c is not None]

    # ---- loading ---------------------------------------------------------------------------------------------

    @Slot()
    def _load(self) -> None:
        choices, precision = self.choices(), self.precision.currentText()
        if not choices or (choices, precision) == self._loaded_choice:
            return
        self._loaded_choice = choices, precision
        home = self.state.home
        show_message(self.status, "loading the model ...")
        self.loader.request(lambda: in_workspace(home, load_models, choices, precision))  # a worker's own workspace

    @Slot(object)
    def _on_loaded(self, models: list) -> None:
        titles = " and ".join(model_title(m) for m in models)
        note = f" · {models[0].precision_note}" if models[0].precision_note else ""
        show_message(self.status, f"probing {titles} (loaded in {self.loader.last_ms:.0f} ms){note}")
        self.context.set_models(models)

    @Slot(str)
    def _on_load_failed(self, message: str) -> None:
        self._loaded_choice = None
        show_message(self.status, message, error=True)
        notify_window(self, message)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()  # checkpoints saved while another panel was shown


if __name__ == "__main__":
    from workbench.gui.preview import preview_panel

    preview_panel(ProbePanel)
