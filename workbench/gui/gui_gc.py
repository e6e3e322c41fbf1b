"""Python's cycle collector, run on the GUI thread only.

Left to itself, the collector runs in whichever thread happens to allocate: often a worker's. A Qt wrapper it
frees there (a closed window's chart and its context menu) is queued by PySide for deletion on the GUI thread,
and that deletion can run inside a later signal on the GUI thread and deadlock on Qt's own mutex: the whole GUI
test suite hung so, and once crashed. pyqtgraph ships the cure: automatic collection off, a timer on the GUI
thread collecting instead."""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector

_collector: GarbageCollector | None = None


def collect_garbage_on_gui_thread() -> None:
    """Start (once per process) the GUI-thread collector; needs a QApplication."""
    global _collector
    if _collector is None:
        _collector = GarbageCollector(interval=1.0)
