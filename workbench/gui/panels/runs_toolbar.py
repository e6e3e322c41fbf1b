"""The Runs panel's toolbar: the search box and status filter of the table, and the buttons that act on the
selected runs, enabled only for a selection they can act on. The panel connects the buttons to its actions.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QPushButton, QWidget

from workbench.gui.export_dialog import BUTTON_TEXT as EXPORT_MODEL_TEXT
from workbench.gui.export_dialog import BUTTON_TIP as EXPORT_MODEL_TIP
from workbench.store.records import RUN_STATUSES, RunRecord


def _button(text: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    return button


class RunsToolbar(QWidget):
    """`search` and `status_filter`, then Refresh, Diff, Compare, Resume, Delete, Export CSV and Export model…"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search name, status, tags")
        self.search.setToolTip("Show only runs whose name, status or tags contain every word typed here.")
        self.search.setClearButtonEnabled(True)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for status in RUN_STATUSES:
            self.status_filter.addItem(status, status)
        self.status_filter.setToolTip("Show only runs in this state.")
        self.refresh_button = _button("Refresh", "Read the runs from the database again.")
        self.diff_button = _button("Diff", "Select two runs to list only the settings they differ in.")
        self.compare_button = _button("Compare", "Select two or more runs to draw their losses on one chart.")
        self.resume_button = _button(
            "Resume", "Continue a stopped, interrupted or failed pretraining run from its last checkpoint.")
        self.delete_button = _button(
            "Delete", "Delete the selected runs, their metrics and their checkpoint files (asks first).")
        self.export_button = _button(
            "Export CSV", "Save the selected runs' metrics as a CSV file (run_id, key, step, value, wall_time).")
        self.export_model_button = _button(EXPORT_MODEL_TEXT, EXPORT_MODEL_TIP)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.search, 1)
        row.addWidget(self.status_filter)
        for button in (self.refresh_button, self.diff_button, self.compare_button, self.resume_button,
                       self.delete_button, self.export_button, self.export_model_button):
            row.addWidget(button)

    def update_buttons(self, selected: list[RunRecord], resumable: bool, has_checkpoint: bool) -> None:
        """Enable what the `selected` runs allow; `resumable`: the one selected run can be resumed;
        `has_checkpoint`: it has a checkpoint to export."""
        self.diff_button.setEnabled(len(selected) == 2)
        self.compare_button.setEnabled(len(selected) >= 2)
        self.delete_button.setEnabled(bool(selected))
        self.export_button.setEnabled(bool(selected))
        self.resume_button.setEnabled(len(selected) == 1 and resumable)
        self.export_model_button.setEnabled(len(selected) == 1 and has_checkpoint)
