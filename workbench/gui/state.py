"""The application's shared state: the workspace, the user's current choices, and signals when they change.

Panels never talk to each other directly: the Data panel sets the corpus, the Masking panel the masking config,
the Train panel reads them all when Start is pressed. The workspace opened here serves the GUI thread's reads;
workers open their own (SQLite connections belong to one thread).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

from workbench.core.masking_config import MaskingConfig
from workbench.jobs.workspace import Workspace


@dataclass(frozen=True)
class ModelChoice:
    """The Model panel's choice; `architecture` overrides the preset (keys: layers, hidden, heads, ffn)."""

    preset: str = "tiny"
    architecture: dict[str, int] = field(default_factory=dict)
    max_len: int = 128
    pre_layer_norm: bool = False
    valid: bool = True  # False while a field is invalid: Start stays disabled


class AppState(QObject):
    corpora_changed = Signal()
    tokenizers_changed = Signal()
    runs_changed = Signal()
    corpus_changed = Signal(object)  # corpus name (str) or None for the bundled sample
    tokenizer_changed = Signal(object)  # tokenizer id (int) or None for "latest of the corpus"
    masking_changed = Signal(object)  # MaskingConfig
    model_changed = Signal(object)  # ModelChoice
    activity_changed = Signal(str)  # what is running, for the status bar

    def __init__(self, home: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace = Workspace(home)
        self.settings = QSettings("mlm-workbench", "mlm-workbench")
        self.corpus_name: str | None = None
        self.tokenizer_id: int | None = None
        self.masking = MaskingConfig()
        self.model = ModelChoice()

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

    def set_model(self, choice: ModelChoice) -> None:
        if choice != self.model:
            self.model = choice
            self.model_changed.emit(choice)

    def update_model(self, **changes: object) -> None:
        self.set_model(replace(self.model, **changes))

    def close(self) -> None:
        self.workspace.close()
