"""A stack of pages (QStackedWidget, QTabWidget) as large as the page shown: Qt makes it as large as its largest
page, so one wide page (a panel in classroom mode's large type, an expert view) would widen every other."""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QTabWidget


def size_to_current(pages: QStackedWidget | QTabWidget) -> None:
    """Only the page shown counts for the size: the others' sizes are ignored (call it when the page changes)."""
    current = pages.currentWidget()
    for index in range(pages.count()):
        page = pages.widget(index)
        policy = QSizePolicy.Policy.Preferred if page is current else QSizePolicy.Policy.Ignored
        page.setSizePolicy(policy, policy)
