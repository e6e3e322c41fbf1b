"""The Runs panel's "Export model…" dialog: one run's checkpoint as a Hugging Face folder (for `transformers`) or
as ONNX, with an int8 copy if asked, into a folder the user picks.

The export (`workbench.jobs.export_run.export_run`, what `mlm-workbench export` runs) works on a worker thread
while the dialog shows that it is busy. It checks itself before it says done, and the dialog shows what it
printed: the files with their sizes and the "verified: max logit difference ..." line, in bold. A refusal shows
the exporter's one line, the CLI's, and the dialog stays for another try.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.task_dialog import TaskDialog
from workbench.gui.workers import Task, TaskRunner
from workbench.jobs.workspace import in_workspace
from workbench.store.records import CheckpointRecord, RunRecord

BUTTON_TEXT = "Export model…"
BUTTON_TIP = ("Save the selected run's model as a Hugging Face folder (for transformers) or as ONNX, checked by "
              "reading it back before it says done.")
FORMATS = (  # (label, format, quantize, folder suffix)
    ("Hugging Face folder (transformers)", "hf", None, "hf"),
    ("ONNX", "onnx", None, "onnx"),
    ("ONNX, with an int8 copy", "onnx", "int8", "onnx"),
)


def export_dialog(parent: QWidget, home: Path, run: RunRecord, checkpoints: list[CheckpointRecord],
                  runner: TaskRunner) -> ExportDialog:
    """Show the dialog for `run` over `parent`'s window (window-modal, not blocking the event loop)."""
    dialog = ExportDialog(home, run, checkpoints, runner, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def _unused_folder(folder: Path) -> Path:
    """`folder`, or `folder-2`, `folder-3`, ... where it exists and is not empty (an export needs an empty one)."""
    candidate, number = folder, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        number += 1
        candidate = folder.with_name(f"{folder.name}-{number}")
    return candidate


def _documents() -> Path:
    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(folder) if folder else Path.home()


class ExportDialog(TaskDialog):
    """`checkpoint` (None: the run's default) and `format` choices, the `folder` to write, `export_button`;
    `task` while an export runs; `report` and `exported` (an `Exported`) once it has succeeded."""

    def __init__(self, home: Path, run: RunRecord, checkpoints: list[CheckpointRecord], runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(runner, parent)
        self.setWindowTitle(f"Export run {run.name!r}")
        self.home, self.run = home, run
        self.exported = None
        self._suggested: Path | None = None
        self._build(checkpoints)
        self._suggest_folder()
        self.resize(720, 420)

    def _build(self, checkpoints: list[CheckpointRecord]) -> None:
        self.checkpoint = QComboBox()
        default = "best epoch" if self.run.kind == "finetune" else "latest"
        self.checkpoint.addItem(f"The {default} ({checkpoints[-1].step:,} steps)" if default == "latest" else
                                "The best epoch (what predict uses)", None)
        for record in reversed(checkpoints):
            self.checkpoint.addItem(f"Step {record.step:,}", record.step)
        self.checkpoint.setToolTip("Which of the run's saved checkpoints to export.")
        self.format = QComboBox()
        for label, *choice in FORMATS:
            self.format.addItem(label, choice)
        self.format.setToolTip("Hugging Face: config.json, model.safetensors, tokenizer files and a model card that "
                               "transformers loads. ONNX: model.onnx for onnxruntime; the int8 copy is smaller and "
                               "its agreement with the full-precision model is measured.")
        self.format.currentIndexChanged.connect(self._suggest_folder)
        self.folder = QLineEdit()
        self.folder.setToolTip("The folder to write: a new one, or an empty one.")
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setAutoDefault(False)
        self.browse_button.clicked.connect(self.browse)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Checkpoint", self.checkpoint)
        form.addRow("Format", self.format)
        form.addRow("Folder", where)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setPlaceholderText("What the export wrote, and how it read back, appears here.")
        buttons = QDialogButtonBox()
        self.export_button = buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.close_button = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.connect(self.start_export)
        self.close_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(self.status_row())
        layout.addWidget(self.report, 1)
        layout.addWidget(buttons)
        self.export_button.setDefault(True)

    def choice(self) -> tuple[str, str | None]:
        """The chosen (format, quantize)."""
        fmt, quantize, _ = self.format.currentData()
        return fmt, quantize

    @Slot()
    def _suggest_folder(self) -> None:
        """Propose <Documents>/<run>-<format> until the user types a folder of their own."""
        if self.folder.text() and Path(self.folder.text()) != self._suggested:
            return
        suffix = self.format.currentData()[2]
        self._suggested = _unused_folder(_documents() / f"{self.run.name}-{suffix}")
        self.folder.setText(str(self._suggested))

    @Slot()
    def browse(self) -> None:
        folder = self._ask_folder()
        if folder:
            self.folder.setText(folder)

    def _ask_folder(self) -> str:  # a method of its own so tests can answer it
        return QFileDialog.getExistingDirectory(self, "Export into this folder", str(_documents()))

    # ---- exporting -------------------------------------------------------------------------------------------

    @Slot()
    def start_export(self) -> None:
        """Export on a worker thread (one at a time)."""
        if self.task is not None:
            return
        out = self.folder.text().strip()
        if not out:
            self.say("Choose a folder to export into.", error=True)
            return
        home, run_id, step = self.home, self.run.id, self.checkpoint.currentData()
        fmt, quantize = self.choice()

        def export(task: Task):
            from workbench.jobs.export_run import export_run  # torch and the exporters load on the worker

            return in_workspace(home, export_run, run_id, step, Path(out).expanduser(), fmt, quantize)

        self.exported = None
        self.report.clear()
        self.run_task("export model", export, self._on_exported,
                      f"Exporting run {self.run.name!r}, then reading the export back to check it…")

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (self.checkpoint, self.format, self.folder, self.browse_button, self.export_button,
                       self.close_button):
            widget.setEnabled(enabled)

    @Slot(object)
    def _on_exported(self, exported) -> None:
        self.exported = exported
        self.report.setPlainText("\n".join(exported.lines))
        self.say(f"Done: {exported.verified_line}.", bold=True)
        self._suggested = None  # the folder is now used; another export needs another folder

