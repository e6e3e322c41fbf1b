"""The main window: a sidebar of panels in the order of the work, a status bar, quick start, safe closing."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout, QLabel, QListWidget, QMainWindow, QMessageBox, QStackedWidget, QToolBar, QWidget,
)

from workbench.gui.panels.data_panel import DataPanel
from workbench.gui.panels.finetune_panel import FinetunePanel
from workbench.gui.panels.masking_panel import MaskingPanel
from workbench.gui.panels.model_panel import ModelPanel
from workbench.gui.panels.probe_panel import ProbePanel
from workbench.gui.panels.runs_panel import RunsPanel
from workbench.gui.panels.tokenizer_panel import TokenizerPanel
from workbench.gui.panels.train_panel import TrainPanel
from workbench.gui.session import restore_choices, save_choices
from workbench.gui.state import AppState
from workbench.gui.workers import TaskRunner


class MainWindow(QMainWindow):
    def __init__(self, home: Path) -> None:
        super().__init__()
        self.setWindowTitle("MLM Workbench")
        self.state = AppState(home, self)
        self.runner = TaskRunner(self)
        self.data = DataPanel(self.state, self.runner)
        self.tokenizer = TokenizerPanel(self.state, self.runner)
        self.masking = MaskingPanel(self.state, self.runner)
        self.model = ModelPanel(self.state, self.runner)
        self.train = TrainPanel(self.state, self.runner)
        self.runs = RunsPanel(self.state, self.runner)
        self.probe = ProbePanel(self.state, self.runner)
        self.finetune = FinetunePanel(self.state, self.runner)
        self.panels = [("Data", self.data), ("Tokenizer", self.tokenizer), ("Masking", self.masking),
                       ("Model", self.model), ("Train", self.train), ("Runs", self.runs),
                       ("Probe", self.probe), ("Fine-tune", self.finetune)]
        self._build_body()
        self._build_toolbar()
        self._build_status_bar()
        self.runs.resume_requested.connect(self._resume_run)
        self._restore_geometry()
        self._restore_choices()

    def _build_body(self) -> None:
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(130)
        self.stack = QStackedWidget()
        for number, (title, panel) in enumerate(self.panels, start=1):
            self.sidebar.addItem(title)
            self.stack.addWidget(panel)
            shortcut = QAction(self, shortcut=QKeySequence(f"Ctrl+{number}"))
            shortcut.triggered.connect(lambda checked=False, n=number - 1: self.show_panel(n))
            self.addAction(shortcut)
        self.sidebar.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.sidebar.setCurrentRow(0)
        body = QWidget()
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        quick = QAction("Quick start", self, shortcut=QKeySequence("Ctrl+Shift+Q"))
        quick.setToolTip("Train a tokenizer and a tiny model on the bundled sample corpus, and watch it learn")
        quick.triggered.connect(self.quick_start)
        toolbar.addAction(quick)
        quit_action = QAction("Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)
        self.addToolBar(toolbar)

    def _build_status_bar(self) -> None:
        self.device_label = QLabel("device: ...")
        self.activity_label = QLabel("idle")
        home_label = QLabel(f"home: {self.state.home}")
        home_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar = self.statusBar()
        bar.addWidget(self.activity_label, 1)
        bar.addPermanentWidget(home_label)
        bar.addPermanentWidget(self.device_label)
        self.runner.activity_changed.connect(lambda text: self.activity_label.setText(f"running: {text}"
                                                                                      if text != "idle" else text))
        QTimer.singleShot(0, self._show_device)  # torch is imported after the window is painted

    @Slot()
    def _show_device(self) -> None:
        from workbench.core.devices import describe_device, resolve_device

        self.device_label.setText(f"device: {describe_device(resolve_device('auto'))}")

    def show_panel(self, index: int) -> None:
        self.sidebar.setCurrentRow(index)

    @Slot()
    def quick_start(self) -> None:
        """One click: the sample corpus, its default tokenizer, a tiny model, training with live curves."""
        self.state.set_corpus(None)
        self.state.update_model(preset="tiny", architecture={}, max_len=64, valid=True)
        self.show_panel(4)
        self.train.quick_start()

    @Slot(int)
    def _resume_run(self, run_id: int) -> None:
        run = self.state.store.get_run(run_id)
        if run is not None and run.kind == "finetune":
            self.show_panel(self.stack.indexOf(self.finetune))
            self.finetune.resume(run_id)
            return
        self.show_panel(self.stack.indexOf(self.train))
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

    def _restore_choices(self) -> None:
        train, panel = restore_choices(self.state.settings, self.state)
        if train is not None:
            self.train.settings.apply(train)
        self.show_panel(min(max(panel, 0), len(self.panels) - 1))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.runner.running() and not self.confirm_stop_running():
            event.ignore()
            return
        self.runner.shutdown()
        self.state.settings.setValue("window/geometry", self.saveGeometry())
        save_choices(self.state.settings, self.state, self.train.settings.config(), self.sidebar.currentRow())
        self.state.close()
        event.accept()
