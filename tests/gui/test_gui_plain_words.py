"""Classroom mode's plain words on the panels' key labels (Train: plot titles, baseline, scores; Probe: tabs; Masking:
the form and the measured table), the technical term on hover, and the technical terms back when it is off."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

from workbench.core.training_types import EvalEvent
from workbench.gui.main_window import MainWindow
from workbench.views.glossary import GLOSSARY, explain


def label_texts(widget) -> set[str]:
    return {label.text() for label in widget.findChildren(QLabel)}


def test_classroom_mode_puts_plain_words_on_the_key_labels(qtbot, window: MainWindow) -> None:
    train, probe, masking = window.train, window.probe, window.masking
    accuracy = train.curves.plots["val_accuracy"]
    assert accuracy.titleLabel.text == "Masked-token accuracy"
    assert train.curves.baseline.label.format == "unigram baseline"
    assert probe.tabs.tabText(0) == "Fill-mask"
    assert "Masking rate" in label_texts(masking.form)

    window.classroom.set_on(True)
    assert accuracy.titleLabel.text == "how often it guesses the hidden word right"
    assert accuracy.titleLabel.toolTip() == explain("accuracy")  # the technical term on hover
    assert train.curves.baseline.label.format == "just guess common words"
    train.curves.add_event(EvalEvent(100, 2.5, 0.42, 12.2, 4.0))
    qtbot.wait(150)  # a redraw of the curves with the baseline in the new words
    assert train._scores(2.5, 4.0, 0.42) == ("how wrong its guesses are on new text 2.500 (just guess common words: 4.000), how often it "
                    "guesses the hidden word right 42.0%")
    assert "masked-token accuracy" in train.eval_label.toolTip()
    assert probe.tabs.tabText(0) == "Fill in the blank" and "fill-mask" in probe.tabs.tabToolTip(0)
    texts = label_texts(masking.form)
    assert GLOSSARY["mask_rate"].plain in texts and "Masking rate" not in texts
    rate_label = next(label for label in masking.form.findChildren(QLabel)
                      if label.text() == GLOSSARY["mask_rate"].plain)
    assert rate_label.toolTip().startswith("masking rate")
    assert GLOSSARY["kept"].plain in label_texts(masking)  # the measured table too

    window.classroom.set_on(False)
    assert accuracy.titleLabel.text == "Masked-token accuracy" and accuracy.titleLabel.toolTip() == ""
    assert train.curves.baseline.label.format == "unigram baseline"
    assert train._scores(2.5, 4.0, 0.42).startswith("validation loss 2.500 (unigram baseline 4.000)")
    assert probe.tabs.tabText(0) == "Fill-mask"
    assert "Masking rate" in label_texts(masking.form) and rate_label.toolTip() == ""
