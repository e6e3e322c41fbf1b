"""The main window: a start page and a sidebar of panels in the order of the work, a status bar, quick start, the
File menu of projects (`project_menu`), the bundled demo model recorded in the home, safe closing.

Panels are built lazily: the one shown first before the window paints, the others one per event-loop turn
right after (or at once when something asks for one). Most panels' modules import torch (1.5 s here), the start
page's and the Data panel's do not, so the window is on screen before torch loads (app start, issue 6). A fresh
home (nothing of the user's yet) opens on the start page, any other on the panel shown when the window closed.
"""

from __future__ import annotations

import importlib
import logging
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QToolBar,
    QWidget,
)

from workbench.gui.classroom import CLASSROOM_KEYS, ClassroomMode
from workbench.gui.lesson_strip import LessonStrip
from workbench.gui.project_menu import OPEN_KEYS, SAVE_KEYS, ProjectMenu
from workbench.gui.session import restore_choices, save_choices
from workbench.gui.sizing import PageStack, size_to_current
from workbench.gui.state import AppState
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import in_workspace
from workbench.settings.model import ModelSpec
from workbench.settings.train import TrainConfig
from workbench.views.start import is_fresh_home, model_to_ask

if TYPE_CHECKING:
    from workbench.core.training_types import TrainResult
    from workbench.jobs.own_text import OwnTextPlan, Question

# (sidebar title, attribute, module, class, what it is for), the start page, then in the order of the work; the
# panel at index N is shown by Ctrl+N
PANELS = (
    ("Start", "start", "start_panel", "StartPanel", "What to do first, and the keyboard shortcuts"),
    ("Data", "data", "data_panel", "DataPanel", "Corpora: add your text, see its statistics and problems"),
    ("Tokenizer", "tokenizer", "tokenizer_panel", "TokenizerPanel", "Train a tokenizer, see its vocabulary"),
    ("Masking", "masking", "masking_panel", "MaskingPanel", "Choose how tokens are hidden for the model to guess"),
    ("Model", "model", "model_panel", "ModelPanel", "Choose the model's size and shape"),
    ("Train", "train", "train_panel", "TrainPanel", "Pretrain and watch the loss curves"),
    ("Runs", "runs", "runs_panel", "RunsPanel", "Every run: curves, compare, resume, export"),
    ("Probe", "probe", "probe_panel", "ProbePanel", "Ask a model to fill in blanks, see its attention"),
    ("Fine-tune", "finetune", "finetune_panel", "FinetunePanel", "Teach a pretrained model a task"),
)
QUICK_START_KEYS = "Ctrl+Shift+Q"


log = logging.getLogger(__name__)

PANEL_INDEX = {attribute: index for index, (_, attribute, *_) in enumerate(PANELS)}


def _panel_property(index: int) -> property:
    return property(lambda self: self.panel(index))


class _Body(QWidget):
    """The central widget; says once when it is first painted (parents paint before their children, and the
    queued connection runs after the whole repaint)."""

    first_painted = Signal()
    _painted = False

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_painted.emit()


class MainWindow(QMainWindow):
    start, data, tokenizer, masking, model, train, runs, probe, finetune = (_panel_property(i)
                                                                            for i in range(len(PANELS)))

    def __init__(self, home: Path, quick_start: bool = False, project: Path | None = None) -> None:
        super().__init__()
        self._quick_start_when_painted = quick_start
        self._project_when_painted = project  # `mlm-workbench open FILE`
        self.setWindowTitle("MLM Workbench")
        self.state = AppState(home, self)
        self.runner = TaskRunner(self)
        self._built: list[QWidget | None] = [None] * len(PANELS)
        self._train_settings: TrainConfig | None = None  # remembered settings, for the Train panel once built
        self.own_text_dialog: QWidget | None = None  # "Train on your own text", made when first asked for
        self._asked_run: int | None = None  # the own-text run asked about its held-out sentence
        self._closed = False
        self._build_body()
        self._build_toolbar()
        self._build_status_bar()
        self._build_view_menu()
        self._restore_geometry()
        self._restore_choices()
        self.classroom.restore(self.state.settings)

    @property
    def panels(self) -> list[tuple[str, QWidget]]:
        """(title, panel) of every panel, building any not built yet."""
        return [(title, self.panel(i)) for i, (title, *_) in enumerate(PANELS)]

    def panel(self, index: int) -> QWidget:
        """The panel at `index`, built (and put in place of its placeholder) on first use."""
        built = self._built[index]
        if built is None:
            _, _, module, name, _ = PANELS[index]
            panel_class = getattr(importlib.import_module(f"workbench.gui.panels.{module}"), name)
            built = self._built[index] = panel_class(self.state, self.runner)
            current = self.stack.currentIndex()
            placeholder = self.stack.widget(index)
            self.stack.insertWidget(index, built)
            self.stack.removeWidget(placeholder)
            placeholder.deleteLater()
            self.stack.setCurrentIndex(current)
            size_to_current(self.stack)
            self._connect_panel(index, built)
        return built

    def _connect_panel(self, index: int, panel: QWidget) -> None:
        attribute = PANELS[index][1]
        self.classroom.apply_to(panel)
        if attribute == "start":
            panel.watch_requested.connect(self.quick_start)
            panel.ask_requested.connect(self.ask_a_model)
            panel.own_text_requested.connect(self.train_on_own_text)
            panel.show_shortcuts(self.shortcut_rows())
        elif attribute == "runs":
            panel.resume_requested.connect(self._resume_run)
        elif attribute == "train" and self._train_settings is not None:
            panel.settings.apply(self._train_settings)

    @Slot()
    def _build_next_panel(self) -> None:
        """Build one missing panel per event-loop turn, so the window answers between them."""
        missing = [i for i, panel in enumerate(self._built) if panel is None]
        if missing and not self._closed:  # a window closed within its first second has nothing more to build
            self.panel(missing[0])
            QTimer.singleShot(0, self._build_next_panel)

    def _build_body(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(130)
        self.stack = PageStack()
        for index, (title, _, _, _, purpose) in enumerate(PANELS):
            self.sidebar.addItem(title)
            self.sidebar.item(index).setToolTip(f"{purpose} ({self._panel_keys(index)})")
            self.stack.addWidget(QWidget())  # a placeholder until the panel is built
            shortcut = QAction(self, shortcut=QKeySequence(self._panel_keys(index)))
            shortcut.triggered.connect(lambda checked=False, n=index: self.show_panel(n))
            self.addAction(shortcut)
        self.sidebar.currentRowChanged.connect(self._show_row)
        self.stack.currentChanged.connect(lambda: size_to_current(self.stack))
        # the panels scroll where they are larger than the window (classroom mode's large type on a small screen)
        # rather than push the window past the screen's edge
        self.scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.stack)
        body = _Body()
        body.first_painted.connect(self._after_first_paint, Qt.ConnectionType.QueuedConnection)
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.scroll, 1)
        self.setCentralWidget(body)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        quick = QAction("Quick start", self, shortcut=QKeySequence(QUICK_START_KEYS))
        quick.setToolTip("Train a tokenizer and a tiny model on the bundled sample corpus, and watch it learn "
                         f"({QUICK_START_KEYS})")
        quick.triggered.connect(self.quick_start)
        toolbar.addAction(quick)
        self.addAction(quick)  # its keys work while classroom mode hides the toolbar
        self.toolbar = toolbar
        self.quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        self.quit_action.triggered.connect(self.close)
        self.addAction(self.quit_action)
        self.addToolBar(toolbar)
        self.projects = ProjectMenu(self)  # the File menu

    def _build_view_menu(self) -> None:
        """View: Classroom (F11) and the guided lesson, whose strip docks at the bottom."""
        self.classroom = ClassroomMode(self)
        self.lesson = LessonStrip(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.lesson)
        self.lesson.hide()
        lesson = QAction("Lesson", self)
        lesson.setToolTip("A guided lesson in six steps on the real panels: the text, hiding words, the model "
                          "guessing, watching it learn, new sentences, attention")
        lesson.triggered.connect(self.lesson.start)
        menu = self.menuBar().addMenu("&View")
        menu.addAction(self.classroom.action)
        menu.addAction(lesson)
        menu.setToolTipsVisible(True)

    @staticmethod
    def _panel_keys(index: int) -> str:
        return f"Ctrl+{index}"

    def shortcut_rows(self) -> list[tuple[str, str]]:
        """(keys, what they do) of every shortcut, as the start page lists them."""
        quit_keys = self.quit_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        return ([(self._panel_keys(i), title) for i, (title, *_) in enumerate(PANELS)]
                + [(QUICK_START_KEYS, "Quick start"), (OPEN_KEYS, "Open project"), (SAVE_KEYS, "Save project"),
                   (CLASSROOM_KEYS, "Classroom mode")]
                + ([(quit_keys, "Quit")] if quit_keys else []))

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("training on: ...")
        self.activity_label = QLabel("idle")
        home_label = QLabel(f"home: {self.state.home}")
        home_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = self.statusBar()
        bar.addWidget(self.activity_label, 1)
        bar.addPermanentWidget(home_label)
        bar.addPermanentWidget(self.device_label)
        self.runner.activity_changed.connect(lambda text: self.activity_label.setText(f"running: {text}"
                                                                                      if text != "idle" else text))

    @Slot()
    def _after_first_paint(self) -> None:
        """Queued after the first paint has finished: now torch may load (the device) and panels be built."""
        log.info("window painted")  # packaging/smoke.sh times the app's start by this line
        from workbench.core.devices import describe_device, resolve_device
        from workbench.jobs.background import training_threads

        # what the window's training process works with, not this process' thread count
        self.device_label.setText(f"training on: {describe_device(resolve_device('auto'), training_threads())}")
        self._record_demo_model()
        self._build_next_panel()
        if self._quick_start_when_painted:
            self.quick_start()
        if self._project_when_painted is not None:
            self.projects.open_path(self._project_when_painted)

    def _record_demo_model(self) -> None:
        """The bundled demo model becomes a run of this home (once; a copy of a few MB) on a worker thread."""
        from workbench.jobs.demo_register import ensure_demo_run

        home = self.state.home
        task = Task("set up the demo model", lambda task: in_workspace(home, ensure_demo_run) is not None)
        task.succeeded.connect(self._on_demo_recorded)
        self.runner.start(task)

    @Slot(object)
    def _on_demo_recorded(self, recorded: bool) -> None:
        if recorded:
            self.state.runs_changed.emit()

    def show_panel(self, index: int) -> None:
        self.sidebar.setCurrentRow(index)

    def show_panel_named(self, name: str) -> None:
        """The panel called `name` (an attribute in PANELS); an unknown name shows the Data panel."""
        self.show_panel(PANEL_INDEX.get(name, PANEL_INDEX["data"]))

    def current_panel_name(self) -> str:
        return PANELS[self.sidebar.currentRow()][1]

    @Slot(int)
    def _show_row(self, index: int) -> None:
        if index >= 0:
            self.panel(index)
            self.stack.setCurrentIndex(index)

    @Slot()
    def quick_start(self) -> None:
        """One click: the sample corpus, its default tokenizer, a tiny model, training with live curves."""
        self.state.set_corpus(None)
        self.state.set_model(ModelSpec(preset="tiny", max_position_embeddings=64))
        self.show_panel(PANEL_INDEX["train"])
        self.train.quick_start()

    @Slot()
    def ask_a_model(self) -> None:
        """The Probe panel on the user's newest imported model, else on the demo model."""
        self.show_panel(PANEL_INDEX["probe"])
        run = model_to_ask(self.state.store)
        if run is not None:
            self.probe.show_run(run.id)

    @Slot()
    def train_on_own_text(self) -> None:
        """The "Train on your own text" dialog (the same one again, with its text, when it was open before)."""
        if self.own_text_dialog is None:
            from workbench.gui.own_text_dialog import OwnTextDialog

            self.own_text_dialog = OwnTextDialog(self.state, self._start_own_text, parent=self)
        self.own_text_dialog.refresh_plan()
        self.own_text_dialog.open()
        self.own_text_dialog.text.setFocus()

    def _start_own_text(self, text: str, plan: OwnTextPlan) -> bool:
        """Train `plan` on `text` in the Train panel (live curves, Pause, Stop); when it completes, the Probe panel
        asks the model about a held-out sentence. False when a run is already training (the panel says so)."""
        from workbench.jobs.background import train_own_text_new
        from workbench.jobs.own_text import duration_words

        self.show_panel(PANEL_INDEX["train"])
        task = self.train.train_planned(
            plan.spec, partial(train_own_text_new, self.state.home, text, plan), plan.tokenizer,
            f"Training on your own text for {duration_words(plan.spec.train.time_budget)}; then the Probe panel "
            "asks your model about a sentence it did not train on. Stop ends it early: your text stays in the Data "
            "panel, the run in the Runs panel, to resume.")
        if task is None:
            return False
        task.succeeded.connect(self._on_own_text_trained)
        return True

    @Slot(object)
    def _on_own_text_trained(self, value: tuple[int, TrainResult]) -> None:
        """A completed own-text run: ask it about a held-out sentence on a worker thread (it loads the model)."""
        from workbench.jobs.own_text import ask_run

        run_id, result = value
        self.state.corpora_changed.emit()  # the text became a corpus
        self.state.tokenizers_changed.emit()
        if result.status != "completed":  # stopped or failed: the Train panel says so
            return
        self.train.controls.say(f"{self.train.controls.status_label.text()} Now asking your model about a "
                                "sentence it did not train on…")
        home = self.state.home
        self._asked_run = run_id
        task = Task("ask the held-out question", lambda task: in_workspace(home, ask_run, run_id))
        task.succeeded.connect(self._show_held_out_question)
        task.failed.connect(self._on_question_failed)
        self.runner.start(task)

    @Slot(object)
    def _show_held_out_question(self, question: Question) -> None:
        self.show_panel(PANEL_INDEX["probe"])
        self.probe.show_question(self._asked_run, question)

    @Slot(str, str)
    def _on_question_failed(self, message: str, details: str) -> None:
        """The model is trained all the same: the Probe panel opens on it, with the reason there is no question."""
        self.show_panel(PANEL_INDEX["probe"])
        self.probe.show_run(self._asked_run)
        self.show_error(f"Your model is trained, but it could not be asked about your text: {message}. Type a "
                        "sentence with [MASK] in the Probe panel to ask it yourself.", details)

    @Slot(int)
    def _resume_run(self, run_id: int) -> None:
        run = self.state.store.get_run(run_id)
        if run is not None and run.kind == "finetune":
            self.show_panel(PANEL_INDEX["finetune"])
            self.finetune.resume(run_id)
            return
        self.show_panel(PANEL_INDEX["train"])
        self.train.resume(run_id)

    def show_error(self, message: str, details: str = "") -> None:
        """A non-modal notification with the details one click away; the window stays usable."""
        box = QMessageBox(QMessageBox.Icon.Warning, "MLM Workbench", message, parent=self)
        box.setDetailedText(details)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()

    def _restore_geometry(self) -> None:
        geometry = self.state.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 800)

    def confirm_stop_running(self) -> bool:
        """Asked on close while work runs; a method of its own so tests can answer it."""
        answer = QMessageBox.question(
            self, "Close MLM Workbench",
            "Work is still running. Stop it (a training run saves a checkpoint first) and close?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _say_closing(self) -> None:
        """Stopping a run saves its checkpoint (a few seconds) while the window waits: say so before it does."""
        self.statusBar().showMessage("Closing: stopping the work that runs; a training run saves its checkpoint "
                                     "first (a few seconds)…")
        self.setCursor(Qt.CursorShape.WaitCursor)
        self.statusBar().repaint()

    def _restore_choices(self) -> None:
        self._train_settings, panel = restore_choices(self.state.settings, self.state)
        if is_fresh_home(self.state.store):
            panel = "start"
        self.show_panel_named(panel or "data")

    def closeEvent(self, event: QCloseEvent) -> None:
        if any(task.ask_before_closing for task in self.runner.running()) and not self.confirm_stop_running():
            event.ignore()
            return
        if self.runner.running():
            self._say_closing()
        self.runner.shutdown()
        self.classroom.release()  # the application's own font and palette again; classroom mode stays remembered
        self.state.settings.setValue("window/geometry", self.saveGeometry())
        train = self._built[PANEL_INDEX["train"]]
        settings = train.settings.config() if train is not None else self._train_settings or TrainConfig()
        save_choices(self.state.settings, self.state, settings, self.current_panel_name())
        self.state.close()
        self._closed = True
        event.accept()
