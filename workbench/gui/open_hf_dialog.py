"""The "Open a Hugging Face model…" dialog of the Probe and Runs panels: the models in the user's Hugging Face
cache (`workbench.jobs.hf_cache`) with their architecture, parameters and size, and "Browse folder…" for any
other folder in the Hugging Face layout. Opening is two clicks: a model, then Open (or a double-click).

The import (`workbench.jobs.interop.import_model`, what `mlm-workbench import` runs) works on a worker thread
while the dialog shows that it is busy; a refusal shows the importer's one line, the one the CLI prints, and
the dialog stays for another choice. A recorded run is announced through the `AppState` (`runs_changed`, then
`run_added` with its id, so the Runs table and the Probe panel's run picker select it) and the dialog closes.
Snapshots the importer would refuse are listed greyed: selecting one says why instead of opening it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QBrush, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.state import AppState
from workbench.gui.task_dialog import TaskDialog
from workbench.gui.workers import TaskRunner
from workbench.jobs.hf_cache import CachedModel, hub_cache_dir, list_cached_models
from workbench.jobs.interop import import_model
from workbench.jobs.workspace import in_workspace
from workbench.store.records import RunRecord
from workbench.views.curves import format_count
from workbench.views.run_compare import human_size

BUTTON_TEXT = "Open a Hugging Face model…"
BUTTON_TIP = ("Import a BERT, RoBERTa (XLM-R, CamemBERT) or DistilBERT masked-LM model from your Hugging Face cache "
              "or a folder, as a run to probe and fine-tune.")
COLUMNS = ("Model", "Architecture", "Parameters", "Size on disk")


def open_hf_dialog(parent: QWidget, state: AppState, runner: TaskRunner) -> OpenHFDialog:
    """Show the dialog over `parent`'s window (window-modal, not blocking the event loop); it deletes itself."""
    dialog = OpenHFDialog(state, runner, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def open_hf_button(parent: QWidget, state: AppState, runner: TaskRunner) -> QPushButton:
    """The panels' "Open a Hugging Face model…" button."""
    button = QPushButton(BUTTON_TEXT, parent)
    button.setToolTip(BUTTON_TIP)
    button.clicked.connect(lambda: open_hf_dialog(parent, state, runner))
    return button


def _row_texts(model: CachedModel, several_revisions: bool) -> list[str]:
    name = f"{model.name} @{model.revision[:7]}" if several_revisions else model.name
    size = "-" if model.weights_bytes is None else human_size(model.weights_bytes)
    parameters = "-" if model.parameters is None else format_count(model.parameters)
    return [name, model.architecture, parameters, size]


class OpenHFDialog(TaskDialog):
    """`models` (the cache's, as listed in `table`), `open_button`, `browse_button`, `message`; `task` while an
    import runs; `imported` is the run once recorded."""

    def __init__(self, state: AppState, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.setWindowTitle("Open a Hugging Face model")
        self.state = state
        self.imported: RunRecord | None = None
        self.hub = hub_cache_dir()
        self.models = list_cached_models(self.hub)
        self._build()
        self._fill()
        self.resize(760, 420)

    def _build(self) -> None:
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(COLUMNS)
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(self.open_selected)
        buttons = QDialogButtonBox()
        self.browse_button = QPushButton("Browse folder…")
        self.browse_button.setAutoDefault(False)  # Enter opens the selected model, never a file dialog
        self.browse_button.setToolTip("Open any folder in the Hugging Face layout: config.json, the weights "
                                      "(safetensors or pytorch_model.bin) and the tokenizer files.")
        self.open_button = buttons.addButton("Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.browse_button.clicked.connect(self.browse)
        self.open_button.clicked.connect(self.open_selected)
        self.close_button.clicked.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.browse_button)
        bottom.addStretch(1)
        bottom.addWidget(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(self.table, 1)
        layout.addLayout(self.status_row())
        layout.addLayout(bottom)
        self.open_button.setDefault(True)  # once in the dialog: a dialog keeps one default button

    def _fill(self) -> None:
        names = [model.name for model in self.models]
        grey = QBrush(self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        for index, model in enumerate(self.models):
            item = QTreeWidgetItem(_row_texts(model, names.count(model.name) > 1))
            item.setData(0, Qt.ItemDataRole.UserRole, index)
            for column in (2, 3):
                item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            tip = str(model.folder) if model.openable else f"Cannot be opened: {model.problem}"
            for column in range(len(COLUMNS)):
                item.setToolTip(column, tip)
                if not model.openable:
                    item.setForeground(column, grey)
            self.table.addTopLevelItem(item)
        openable = sum(model.openable for model in self.models)
        if not self.models:
            self.where.setText(f"No models in your Hugging Face cache ({self.hub}). Models that transformers or "
                               f"huggingface-cli download appear here; or open a folder with Browse folder….")
        else:
            self.where.setText(f"{openable} of {len(self.models)} models in your Hugging Face cache ({self.hub}) "
                               f"can be opened; the greyed ones cannot (select one to see why).")
        first = next((i for i, model in enumerate(self.models) if model.openable), None)
        if first is not None:
            self.table.setCurrentItem(self.table.topLevelItem(first))
        self._on_selection()

    def selected(self) -> CachedModel | None:
        items = self.table.selectedItems()
        return self.models[items[0].data(0, Qt.ItemDataRole.UserRole)] if items else None

    def _can_open(self) -> bool:
        model = self.selected()
        return self.task is None and model is not None and model.openable

    @Slot()
    def _on_selection(self) -> None:
        model = self.selected()
        self.open_button.setEnabled(self._can_open())
        if self.task is None:
            self.say("" if model is None or model.openable else f"{model.name} cannot be opened: {model.problem}",
                      error=model is not None and not model.openable)

    # ---- importing -------------------------------------------------------------------------------------------

    @Slot()
    def open_selected(self) -> None:
        model = self.selected()
        if model is not None and model.openable:
            self.import_folder(model.folder, model.name)

    @Slot()
    def browse(self) -> None:
        folder = self._ask_folder()
        if folder:
            self.import_folder(Path(folder), folder)

    def _ask_folder(self) -> str:  # a method of its own so tests can answer it
        return QFileDialog.getExistingDirectory(self, "Open a Hugging Face model folder", str(Path.home()))

    def import_folder(self, folder: Path, label: str) -> None:
        """Import `folder` on a worker thread (one at a time); `label` names it in the busy message."""
        home = self.state.home
        self.run_task("import model", lambda task: in_workspace(home, import_model, folder), self._on_imported,
                      f"Opening {label}: reading and checking its weights and tokenizer…")

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.table, self.browse_button, self.close_button):
            widget.setEnabled(enabled)
        self.open_button.setEnabled(self._can_open())

    @Slot(object)
    def _on_imported(self, run: RunRecord) -> None:
        self.imported = run
        self.state.runs_changed.emit()
        self.state.run_added.emit(run.id)

    def _finished(self) -> None:
        if self.imported is not None:
            self.accept()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.table.topLevelItemCount():
            self.table.setFocus()  # arrow keys choose, Enter opens (a focused Browse button would take Enter)
