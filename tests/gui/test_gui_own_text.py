""""Train on your own text" in the real main window: the start page's choice opens the dialog, pasted text shows
the job's plan before Start, Start trains it in the Train panel (a child process, live curve) and a completed run
opens the Probe panel on a held-out sentence with one word masked, its answer beside the unigram guess. Stop
mid-run keeps the text and the stopped run and leaves the window usable; too little text or an unreadable file
is said in plain words, with Start disabled."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from workbench.gui.main_window import PANEL_INDEX, MainWindow
from workbench.gui.own_text_dialog import OwnTextDialog
from workbench.jobs.demo_model import find_demo_run
from workbench.jobs.own_text import MIN_WORDS
from workbench.samples.corpus import generate_documents
from workbench.views.own_text import percent

WAIT = 180_000  # ms: a spawned training process and a busy 2-core machine
SCREEN = (1280, 720)


def sample_text(documents: int = 200) -> str:
    """About 6,000 words of the project's generated sample text (as tests/jobs/test_own_text.py trains on)."""
    return "\n\n".join(generate_documents(documents, seed=1)) + "\n"


def open_dialog(qtbot, window: MainWindow, text: str, minutes: float) -> OwnTextDialog:
    qtbot.mouseClick(window.start.own_text, Qt.MouseButton.LeftButton)
    dialog = window.own_text_dialog
    assert dialog is not None and dialog.isVisible() and dialog.focusWidget() is dialog.text
    dialog.text.setPlainText(text)
    dialog.minutes.setValue(minutes)
    qtbot.waitUntil(lambda: not dialog._timer.isActive(), timeout=WAIT)  # the plan follows the text (debounced)
    return dialog


def test_own_text_trains_then_the_probe_panel_asks_a_held_out_question(qtbot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window, sample_text(), minutes=0.1)
    assert dialog.message.text().startswith("Your text: 6,127 words")
    plan = dialog.plan
    assert plan is not None and plan.spec.corpus == "my-text" and plan.spec.train.time_budget == 0.1
    shown = dialog.plan_label.text()
    assert "WordPiece tokenizer of 2,000 pieces" in shown and "tiny model" in shown and "6 seconds" in shown
    assert dialog.start_button.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    train = window.train
    assert window.stack.currentWidget() is train and train.task is not None
    assert "your own text for 6 seconds" in train.controls.status_label.text()
    assert "wordpiece of 2,000" in train.summary.text()
    assert train.settings.config().time_budget == 0.1  # the form shows the run's settings, as for a resumed run
    qtbot.waitUntil(lambda: len(train.curves.live["train_loss"]) >= 1, timeout=WAIT)  # the live curve
    probe = window.probe
    qtbot.waitUntil(lambda: window.stack.currentWidget() is probe and probe.held_out is not None, timeout=WAIT)
    store = window.state.store
    run = store.get_run(train.run_id)
    assert run.status == "completed" and run.name == "my-text (own text)"
    assert store.get_corpus("my-text").stats["words"] == 6127
    question = probe.held_out
    assert probe.primary.run.currentData() == run.id and probe.tabs.currentWidget() is probe.fill
    assert probe.fill.text.text() == question.masked and question.masked.count("[MASK]") == 1
    note = probe.question.text()
    assert probe.question.isVisible() and f"<b>{question.answer}</b>" in note
    assert percent(question.answer_probability) in note and percent(question.unigram_probability) in note
    assert "0.0%" not in note
    assert f"“{question.unigram_guess}”" in note and question.unigram_guess.isalpha()
    # the Fill-mask view shows this model's own answer to the masked sentence: the question's top 5
    fill = probe.fill
    qtbot.waitUntil(lambda: not fill.computation.busy and len(fill.displayed()[0]) == 1
                    and [w for w, _ in fill.displayed()[0][0][1]] == [w for w, _ in question.predictions],
                    timeout=WAIT)
    qtbot.waitUntil(lambda: find_demo_run(store) is not None, timeout=WAIT)
    probe.primary.run.setCurrentIndex(probe.primary.run.findData(find_demo_run(store).id))
    assert not probe.question.isVisible()  # the question is about its own run only
    probe.primary.run.setCurrentIndex(probe.primary.run.findData(run.id))
    assert probe.question.isVisible()


def test_stop_mid_run_keeps_the_text_and_the_run_and_the_window_stays_usable(qtbot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window, sample_text(), minutes=10)
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)
    train = window.train
    qtbot.waitUntil(lambda: len(train.curves.live["train_loss"]) >= 2, timeout=WAIT)
    qtbot.mouseClick(train.controls.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: train.task is None, timeout=WAIT)
    store = window.state.store
    run = store.get_run(train.run_id)
    assert run.status == "stopped" and store.latest_checkpoint(run.id) is not None  # resumable
    assert train.phase == "stopped" and "Resume run" in train.controls.status_label.text()
    assert store.get_corpus("my-text") is not None  # the text stays a corpus
    qtbot.wait(500)
    assert window.stack.currentWidget() is train and window._built[PANEL_INDEX["probe"]].held_out is None
    assert train.controls.start_button.isEnabled() and train.controls.resume_button.isEnabled()
    # the same dialog again, with the text still there; the next run gets a name of its own
    window.train_on_own_text()
    assert dialog.isVisible() and dialog.text.toPlainText() == sample_text()
    qtbot.waitUntil(lambda: dialog.plan is not None and dialog.plan.spec.corpus == "my-text-2", timeout=WAIT)
    dialog.reject()


def test_too_little_text_or_an_unreadable_file_is_said_plainly_and_start_stays_off(qtbot, window: MainWindow,
                                                                                  tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, window, "", minutes=1)
    assert not dialog.start_button.isEnabled() and dialog.plan is None
    assert f"at least {MIN_WORDS:,} words" in dialog.message.text()
    short = " ".join(sample_text(10).split()[:300])
    dialog.text.setPlainText(short)
    qtbot.waitUntil(lambda: "300 words" in dialog.message.text(), timeout=WAIT)
    assert "too few" in dialog.message.text() and f"{MIN_WORDS:,}" in dialog.message.text()
    assert "c0392b" in dialog.message.styleSheet() and not dialog.start_button.isEnabled()
    qtbot.mouseClick(dialog.start_button, Qt.MouseButton.LeftButton)  # disabled: nothing starts
    assert dialog.isVisible() and all(task.name != "training" for task in window.runner.running())
    binary = tmp_path / "photo.txt"
    binary.write_bytes(bytes(range(256)) * 8)
    assert not dialog.open_file(binary)
    assert "not plain text" in dialog.message.text() and "UTF-8" in dialog.message.text()
    assert not dialog.open_file(tmp_path / "gone.txt")
    assert "gone.txt could not be read" in dialog.message.text() and "Errno" not in dialog.message.text()
    assert dialog.text.toPlainText() == short  # a failed open leaves the text as it was
    book = tmp_path / "fables.txt"
    book.write_text(sample_text(), encoding="utf-8")
    assert dialog.open_file(book)
    assert dialog.name.text() == "fables" and dialog.text.toPlainText() == sample_text()
    assert dialog.plan is not None and dialog.plan.spec.corpus == "fables" and dialog.start_button.isEnabled()
    hint = dialog.minimumSizeHint()
    assert hint.width() <= SCREEN[0] and hint.height() <= SCREEN[1]
    assert dialog.width() <= SCREEN[0] and dialog.height() <= SCREEN[1]
    dialog.reject()
