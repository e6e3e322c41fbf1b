"""One "Export..." button for every Probe view: a menu of PNG (what the view shows, as pixels), SVG (the same
drawn as vectors, for papers) and CSV (the numbers behind it, written by `workbench.views.probe_export`), for
each picture the view holds. A failed export is shown in the view's status line, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QPoint, QStandardPaths
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QLabel, QMenu, QToolButton, QWidget

from workbench.gui.panels.probe_common import show_message
from workbench.jobs.errors import one_line
from workbench.views.probe_export import with_suffix

FORMATS = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "csv": "CSV table (*.csv)"}
NOTHING_YET = "there is nothing to export yet"


@dataclass(frozen=True)
class ExportTarget:
    """One picture of a view: what to draw, the CSV of its numbers, its default file name (no suffix)."""

    label: str
    widget: QWidget
    write_csv: Callable[[Path], Path]  # raises ValueError when there is nothing to write
    stem: Callable[[], str]
    ready: Callable[[], bool]  # whether the picture shows a result yet


def save_png(widget: QWidget, path: str | Path) -> Path:
    path = with_suffix(path, ".png")
    if not widget.grab().save(str(path), "PNG"):
        raise OSError(f"could not write {path}")
    return path


def save_svg(widget: QWidget, path: str | Path, title: str = "") -> Path:
    """The widget painted into an SVG file: text stays text and lines stay lines (images stay images)."""
    path = with_suffix(path, ".svg")
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(widget.size())
    generator.setViewBox(widget.rect())
    generator.setTitle(title)
    painter = QPainter()
    if not painter.begin(generator):
        raise OSError(f"could not write {path}")
    try:
        widget.render(painter, QPoint())
    finally:
        painter.end()
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path


class ExportButton(QToolButton):
    """"Export..." with, per target, "<Label> as PNG / SVG / CSV...": each asks for a file, then writes it."""

    last_folder: str | None = None  # shared by every view: the folder of the last export

    def __init__(self, targets: list[ExportTarget], status: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.targets = {target.label: target for target in targets}
        self.status = status
        self.setText("Export...")
        self.setToolTip("Save what this view shows as a picture (PNG, or SVG for papers) or its numbers as CSV.")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        for target in targets:
            if len(targets) > 1:
                menu.addSection(target.label.capitalize())
            for kind in FORMATS:
                action = menu.addAction(f"{target.label.capitalize()} as {kind.upper()}...")
                action.triggered.connect(lambda _checked=False, t=target.label, k=kind: self.ask(t, k))
        self.setMenu(menu)

    def export(self, label: str, kind: str, path: str | Path) -> Path:
        """Write target `label` as `kind` ("png", "svg" or "csv") to `path`; raises OSError or ValueError."""
        target = self.targets[label]
        if not target.ready():
            raise ValueError(NOTHING_YET)
        if kind == "png":
            return save_png(target.widget, path)
        if kind == "svg":
            return save_svg(target.widget, path, target.stem())
        return target.write_csv(with_suffix(path, ".csv"))

    def ask(self, label: str, kind: str) -> None:
        """Ask for a file name (in the last folder used, or Documents), then export and say what happened."""
        target = self.targets[label]
        if not target.ready():
            show_message(self.status, f"export: {NOTHING_YET}", error=True)
            return
        folder = ExportButton.last_folder or QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.DocumentsLocation)
        suggested = str(Path(folder) / f"{target.stem()}.{kind}")
        path, _ = QFileDialog.getSaveFileName(self, f"Export the {label} as {kind.upper()}", suggested, FORMATS[kind])
        if path:
            self.save(label, kind, path)

    def save(self, label: str, kind: str, path: str | Path) -> Path | None:
        """`export`, with the outcome in the status line instead of an exception."""
        try:
            written = self.export(label, kind, path)
        except (OSError, ValueError) as error:
            show_message(self.status, f"Could not save: {one_line(error)}. Choose another file or folder.", error=True)
            return None
        ExportButton.last_folder = str(written.parent)
        show_message(self.status, f"saved {written}")
        return written
