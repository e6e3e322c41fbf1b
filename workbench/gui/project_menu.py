"""The window's File menu: Open project… (Ctrl+O), Open recent project, Save project… (Ctrl+S) and Quit.

A project (`workbench.jobs.project`) is the whole set-up a presenter prepares: the corpus chosen in the Data panel,
its tokenizer, the Masking, Model and Train panels' settings, the sentences in the Probe panel's boxes and the panel
shown. Saving and opening run as background tasks (hashing a corpus, recording it in the home); what an opened
project holds is then put into the real panels on the GUI thread, and what could not be restored as saved (a
missing corpus file, say) is shown in one notification.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from workbench.gui.session import RECENT_PROJECTS_KEY, add_recent, recent_paths
from workbench.gui.workers import Task
from workbench.jobs.project_file import SUFFIX, ProjectSettings
from workbench.jobs.workspace import in_workspace
from workbench.settings.base import SettingError

if TYPE_CHECKING:
    from workbench.gui.main_window import MainWindow
    from workbench.jobs.project import OpenedProject, Setup

OPEN_KEYS, SAVE_KEYS = "Ctrl+O", "Ctrl+S"
FILE_FILTER = f"MLM Workbench projects (*{SUFFIX})"


class ProjectMenu(QObject):
    """Builds the File menu of `window` and saves or opens its set-up; `path` is the project last saved or opened."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None
        self.task: Task | None = None
        self.notes_box: QMessageBox | None = None  # the latest opening's notes, while shown
        menu = window.menuBar().addMenu("&File")
        self.open_action = QAction("Open project…", window, shortcut=QKeySequence(OPEN_KEYS))
        self.open_action.setToolTip("Open a saved set-up: corpus, tokenizer, settings and probe sentences")
        self.open_action.triggered.connect(self.ask_open)
        self.recent_menu = QMenu("Open recent project", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        self.save_action = QAction("Save project…", window, shortcut=QKeySequence(SAVE_KEYS))
        self.save_action.setToolTip("Save the whole set-up as a project file that opens on another machine too")
        self.save_action.triggered.connect(self.ask_save)
        menu.addAction(self.open_action)
        menu.addMenu(self.recent_menu)
        menu.addAction(self.save_action)
        menu.addSeparator()
        menu.addAction(window.quit_action)
        menu.setToolTipsVisible(True)

    # ---- saving ------------------------------------------------------------------------------------------------

    @Slot()
    def ask_save(self) -> None:
        start = str(self.path or Path.home() / f"lesson{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", start, FILE_FILTER)
        if path:
            self.save_to(Path(path))

    def setup(self) -> Setup:
        """The window's set-up as the panels show it now."""
        from workbench.gui.panels.probe_texts import probe_texts
        from workbench.jobs.project import Setup

        state, window = self.window.state, self.window
        settings = ProjectSettings(masking=state.masking, model=state.model, train=window.train.settings.config(),
                                   probe=probe_texts(window.probe), panel=window.current_panel_name())
        return Setup(state.corpus_name, state.tokenizer_id, settings)

    def save_to(self, path: Path) -> bool:
        """Save the set-up to `path` in the background; False when a save or an open is already under way or the
        Train panel's settings are not valid."""
        if self.task is not None:
            return False
        try:
            setup = self.setup()
        except SettingError as error:
            self.window.show_error(f"The project was not saved: the Train panel's {error}")
            return False
        from workbench.jobs.project import save_project

        home = self.window.state.home
        self._start(Task("save project", lambda task: in_workspace(home, save_project, path, setup)), self._on_saved)
        self.window.statusBar().showMessage(f"Saving {path.name}…")
        return True

    @Slot(object)
    def _on_saved(self, result: tuple[Path, list[str]]) -> None:
        path, outside = result
        self._remember(path)
        names = ", ".join(Path(file).name for file in outside)
        copy = f" To open it on another machine, copy {names} into the same folder." if outside else ""
        self.window.statusBar().showMessage(f"Saved the project {path}.{copy}")

    # ---- opening -----------------------------------------------------------------------------------------------

    @Slot()
    def ask_open(self) -> None:
        start = str(self.path.parent if self.path else Path.home())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", start, FILE_FILTER)
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path) -> bool:
        """Open the project in `path` in the background, then fill the panels; False when busy."""
        if self.task is not None:
            return False
        from workbench.jobs.project import open_project

        home = self.window.state.home
        self._start(Task("open project", lambda task: in_workspace(home, open_project, path)), self._on_opened)
        self.window.statusBar().showMessage(f"Opening {path.name}…")
        return True

    @Slot(object)
    def _on_opened(self, opened: OpenedProject) -> None:
        self.apply(opened.setup)
        self._remember(opened.path)
        notes = list(opened.notes) + self._train_notes(opened.setup.settings)
        self.window.statusBar().showMessage(f"Opened the project {opened.path}" + (" (see the notes)" if notes else ""))
        if notes:
            box = QMessageBox(QMessageBox.Icon.Information, "MLM Workbench",
                              f"Opened {opened.path.name}, with these differences:\n\n" + "\n\n".join(notes),
                              parent=self.window)
            box.setModal(False)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.show()
            self.notes_box = box  # for tests and screenshots

    def apply(self, setup: Setup) -> None:
        """Put `setup` into the panels: the shared state first (the Data, Tokenizer, Masking and Model panels follow
        it), then the Train panel's form and the Probe panel's boxes, then show the panel the project was saved on."""
        from workbench.gui.panels.probe_texts import set_probe_texts

        state, window, settings = self.window.state, self.window, setup.settings
        state.corpora_changed.emit()  # the corpus and tokenizer opening recorded
        state.tokenizers_changed.emit()
        state.set_corpus(setup.corpus_name)
        state.set_tokenizer(setup.tokenizer_id)
        state.set_masking(settings.masking)
        state.set_model(settings.model)
        window.train.settings.apply(settings.train)
        set_probe_texts(window.probe, settings.probe)
        window.show_panel_named(settings.panel or "data")

    def _train_notes(self, settings: ProjectSettings) -> list[str]:
        """A device or precision this machine lacks keeps the form's choice: say so ("auto" is any device)."""
        shown, saved = self.window.train.settings.config(), settings.train
        return [f"The training {name} {getattr(saved, name)!r} is not available on this machine: "
                f"{getattr(shown, name)!r} is used." for name in ("device", "precision")
                if getattr(shown, name) != getattr(saved, name) and getattr(saved, name) != "auto"]

    # ---- both --------------------------------------------------------------------------------------------------

    def _start(self, task: Task, on_success: object) -> None:
        self.task = task
        task.succeeded.connect(on_success)
        task.failed.connect(self._on_failed)
        task.done.connect(self._on_done)
        self.window.runner.start(task)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        self.window.statusBar().clearMessage()
        self.window.show_error(message, details)

    @Slot()
    def _on_done(self) -> None:
        self.task = None

    def _remember(self, path: Path) -> None:
        self.path = path
        add_recent(self.window.state.settings, [str(path)], RECENT_PROJECTS_KEY)
        self.window.setWindowTitle(f"{path.name} – MLM Workbench")

    @Slot()
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = recent_paths(self.window.state.settings, RECENT_PROJECTS_KEY)
        for path in paths:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.triggered.connect(lambda checked=False, p=path: self.open_path(Path(p)))
        if not paths:
            self.recent_menu.addAction("No recent projects").setEnabled(False)
