"""Classroom mode's plain words on labels that never change (a form's "Masking rate", the Probe panel's "Top k:"):
a label is tagged with its glossary term when it is made (`plain_label`), and `show_plain_words` puts the plain
words on every tagged label under a widget, with the technical term and its meaning as the tooltip, or puts the
label's own text and tooltip back. Labels whose text changes with what they show ask the glossary themselves."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QWidget

from workbench.views.glossary import explain, words

TERM, TEXT, TIP = "glossary_term", "technical_text", "technical_tooltip"
W = TypeVar("W", bound=QWidget)


def _text(widget: QWidget) -> str:
    return widget.title() if isinstance(widget, QGroupBox) else widget.text()


def _set_text(widget: QWidget, text: str) -> None:
    if isinstance(widget, QGroupBox):
        widget.setTitle(text)
    elif isinstance(widget, (QLabel, QAbstractButton)):
        widget.setText(text)


def plain_label(widget: W, term: str) -> W:
    """Tag a label, check box, button or group box with glossary term `term`; returns it."""
    widget.setProperty(TERM, term)
    widget.setProperty(TEXT, _text(widget))
    widget.setProperty(TIP, widget.toolTip())
    return widget


def show_plain_words(root: QWidget, plain: bool) -> None:
    """The plain words (classroom mode) or the technical terms on every tagged label under `root`."""
    for widget in root.findChildren(QWidget):
        term = widget.property(TERM)
        if not term:
            continue
        technical = widget.property(TEXT)
        if plain:
            _set_text(widget, words(term, True) + (":" if technical.endswith(":") else ""))
            widget.setToolTip(explain(term))
        else:
            _set_text(widget, technical)
            widget.setToolTip(widget.property(TIP))
