"""The application's shared state: the workspace, the user's current choices, and signals when they change.

Panels never talk to each other directly: the Data panel sets the corpus, the Masking panel the masking config,
the Train panel reads them all when Start is pressed. The workspace opened here serves the GUI thread's reads;
workers open their own (SQLite connections belong to one thread).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from workbench.jobs.workspace import Workspace
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import ModelSpec


class AppState(QObject):
    corpora_changed = Signal()
    tokenizers_changed = Signal()
    runs_changed = Signal()
    run_added = Signal(int)  # a run the user just made here (an import): the panels that list runs select it
    corpus_changed = Signal(object)  # corpus name (str) or None for the bundled sample
    tokenizer_changed = Signal(object)  # tokenizer id (int) or None for "latest of the corpus"
    masking_changed = Signal(object)  # MaskingConfig
    model_changed = Signal(object)  # ModelSpec (also when only `model_error` changed)
    activity_changed = Signal(str)  # what is running, for the status bar
    classroom_changed = Signal(bool)  # classroom mode on or off: panels show plain words or technical terms

    def __init__(self, home: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = Workspace(home)
        self.settings = QSettings("mlm-workbench", "mlm-workbench")
        self.corpus_name: str | None = None
        self.tokenizer_id: int | None = None
        self.masking = MaskingConfig()
        self.model = ModelSpec()
        self.model_error: str | None = None  # why the Model panel's fields make no valid model; None: they do
        self.classroom = False  # View → Classroom: plain words on the panels' labels (`workbench.views.glossary`)

    @property
    def home(self) -> Path:
        return self.workspace.home

    @property
    def store(self):  # the RunStore of the GUI thread
        return self.workspace.store

    def set_corpus(self, name: str | None) -> None:
        if name != self.corpus_name:
            self.corpus_name = name
            self.tokenizer_id = None
            self.corpus_changed.emit(name)
            self.tokenizer_changed.emit(None)

    def set_tokenizer(self, tokenizer_id: int | None) -> None:
        if tokenizer_id != self.tokenizer_id:
            self.tokenizer_id = tokenizer_id
            self.tokenizer_changed.emit(tokenizer_id)

    def set_masking(self, config: MaskingConfig) -> None:
        if config != self.masking:
            self.masking = config
            self.masking_changed.emit(config)

    def set_model(self, spec: ModelSpec, error: str | None = None) -> None:
        """The model to train; with `error`, the fields on the Model panel make no valid model (Start waits)."""
        if (spec, error) != (self.model, self.model_error):
            self.model, self.model_error = spec, error
            self.model_changed.emit(spec)

    def set_classroom(self, on: bool) -> None:
        if on != self.classroom:
            self.classroom = on
            self.classroom_changed.emit(on)

    def close(self) -> None:
        self.workspace.close()
