"""A stack of pages (QStackedWidget, QTabWidget) as large as the page shown: Qt makes it as large as its largest
page, so one wide page (a panel in classroom mode's large type, an expert view) would widen every other, and one
tall page would make every other scroll as far (`PageStack`)."""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QStackedWidget, QTabWidget, QWidget


class PageStack(QStackedWidget):
    """A stack whose height for a width is the page shown's. QStackedLayout answers with its tallest page's, whatever
    the size policies: in a scroll area, every panel was as tall as the tallest one built (the Fine-tune panel's
    1,057 px at 1280 x 720 in classroom mode) and scrolled its lower half out of sight."""

    def heightForWidth(self, width: int) -> int:
        page: QWidget | None = self.currentWidget()
        if page is None:
            return super().heightForWidth(width)
        return max(page.heightForWidth(width), page.minimumSizeHint().height())


def size_to_current(pages: QStackedWidget | QTabWidget) -> None:
    """Only the page shown counts for the size: the others' sizes are ignored (call it when the page changes)."""
    current = pages.currentWidget()
    for index in range(pages.count()):
        page = pages.widget(index)
        policy = QSizePolicy.Policy.Preferred if page is current else QSizePolicy.Policy.Ignored
        page.setSizePolicy(policy, policy)
