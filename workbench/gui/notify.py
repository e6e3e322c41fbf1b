"""How a panel raises a notification: through the main window's non-modal one (`MainWindow.show_error`), when the
panel sits in a window that offers it; a panel shown on its own (a preview, a test) has only its own labels."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def notify_window(widget: QWidget, message: str, details: str = "") -> None:
    window = widget.window()
    show = getattr(window, "show_error", None) if window is not widget else None
    if callable(show):
        show(message, details)
