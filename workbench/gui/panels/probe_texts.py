"""The sentences in the Probe panel's boxes, read and written as a project keeps them (`ProbeTexts`): the Fill-mask
sentence and targets, the Attention text, the Scoring sentences and the Neighbours' token, sentence, word and other
sentences. A box of several lines is kept line by line."""

from __future__ import annotations

from dataclasses import fields

from PySide6.QtWidgets import QLineEdit, QPlainTextEdit

from workbench.gui.panels.probe_panel import ProbePanel
from workbench.jobs.project_file import ProbeTexts


def _boxes(panel: ProbePanel) -> dict[str, QLineEdit | QPlainTextEdit]:
    """Each ProbeTexts field's box."""
    return {
        "fill_mask": panel.fill.text, "fill_targets": panel.fill.targets, "attention": panel.attention.text,
        "scoring": panel.scoring.sentences, "neighbours_token": panel.neighbours.token,
        "neighbours_sentence": panel.neighbours.sentence, "neighbours_word": panel.neighbours.word,
        "neighbours_others": panel.neighbours.others,
    }


def probe_texts(panel: ProbePanel) -> ProbeTexts:
    """What the boxes hold now."""
    return ProbeTexts(**{name: tuple(box.toPlainText().splitlines()) if isinstance(box, QPlainTextEdit) else box.text()
                         for name, box in _boxes(panel).items()})


def set_probe_texts(panel: ProbePanel, texts: ProbeTexts) -> None:
    """Fill the boxes with `texts`; a field that is None leaves its box as it is."""
    boxes = _boxes(panel)
    for field in fields(ProbeTexts):
        value = getattr(texts, field.name)
        box = boxes[field.name]
        if value is None:
            continue
        if isinstance(box, QPlainTextEdit):
            box.setPlainText("\n".join(value))
        else:
            box.setText(value)
