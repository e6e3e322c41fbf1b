"""The first five minutes in the real main window: a fresh home opens on the start page, each of its three choices
goes where it says, the Probe panel there is on the bundled demo model (recorded in the home at start) and fills
"lima is a city in [MASK]." with "peru" at once; a home with the user's own things opens where it
was left."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from workbench.core.probing import fill_mask
from workbench.gui.main_window import PANEL_INDEX, PANELS, MainWindow
from workbench.jobs.corpora import add_corpus
from workbench.jobs.demo_model import find_demo_run
from workbench.jobs.interop import import_model
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import generate_documents

WAIT = 120_000  # ms; the machine is small and may be busy
LIMA = "lima is a city in [MASK]."


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_fresh_home_opens_on_the_start_page_with_the_shortcuts(window: MainWindow) -> None:
    assert window.stack.currentWidget() is window.start and window.sidebar.currentRow() == 0
    start = window.start
    assert [b.text() for b in (start.watch, start.ask, start.own_text)] == [
        "Watch a model learn", "Ask a model to fill in the blanks", "Train on your own text"]
    assert all(b.description().endswith(".") for b in (start.watch, start.ask, start.own_text))
    texts = " ".join(label.text() for label in start.shortcuts.findChildren(QLabel))
    for index, (title, *_) in enumerate(PANELS):
        assert f"Ctrl+{index}" in texts and title in texts
        assert window.sidebar.item(index).toolTip().endswith(f"(Ctrl+{index})")
    assert "Ctrl+Shift+Q" in texts and "Quick start" in texts


def test_watch_a_model_learn_starts_quick_start(qtbot, window: MainWindow) -> None:
    click(qtbot, window.start.watch)
    assert window.stack.currentWidget() is window.train
    qtbot.waitUntil(lambda: len(window.train.curves.live["train_loss"]) >= 2, timeout=WAIT)
    click(qtbot, window.train.controls.stop_button)
    qtbot.waitUntil(lambda: window.train.task is None, timeout=WAIT)


def test_ask_a_model_opens_the_probe_panel_on_the_demo_model(qtbot, window: MainWindow) -> None:
    """The demo model is probed at once: the lima sentence's predictions, the engine's own, in a moment."""
    store = window.state.store
    # recorded, with all its checkpoints, on a worker thread after the first paint
    qtbot.waitUntil(lambda: getattr(find_demo_run(store), "status", "") == "completed", timeout=WAIT)
    demo = find_demo_run(store)
    click(qtbot, window.start.ask)
    probe = window.probe
    assert window.stack.currentWidget() is probe and probe.primary.run.currentData() == demo.id
    assert probe.primary.checkpoint.currentData() == store.checkpoints(demo.id)[-1].step  # the finished model
    qtbot.waitUntil(lambda: bool(probe.context.models), timeout=WAIT)
    view = probe.fill
    qtbot.waitUntil(lambda: not view.computation.busy and bool(view.displayed()), timeout=WAIT)
    typed = time.monotonic()
    view.text.setText(LIMA)
    qtbot.waitUntil(lambda: not view.computation.busy and len(view.displayed()[0]) == 1, timeout=WAIT)
    shown = time.monotonic() - typed  # the debounce, the fill-mask and the drawing together
    with Workspace(window.state.home) as ws:
        engine = load_probe_model(ws, demo.id)
    [mask] = fill_mask(engine.model, engine.tokenizer, LIMA, top_k=5).masks
    assert view.displayed()[0][0][1] == [(p.token, p.probability) for p in mask.predictions]
    assert mask.predictions[0].token == "peru"
    # Issue 15 asks for a second. On this 2-core VM under a load of 12 it took 1.4-1.9 s (the 250 ms debounce
    # included), one fill-mask alone 0.1-0.9 s in torch's two threads: this bound only catches a reload per request
    assert shown < 5.0, f"shown after {shown:.2f} s, of which the fill-mask {view.computation.last_ms:.0f} ms"


def test_ask_a_model_prefers_an_imported_model(qtbot, home: Path, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from hf_folders import make_hf_folder

    make_hf_folder(tmp_path / "bert", "bert")
    with Workspace(home) as ws:
        imported = import_model(ws, tmp_path / "bert", name="mine")
    window = MainWindow(home)
    try:
        assert window.stack.currentWidget() is window.data  # not fresh: the user's own model is there
        window.ask_a_model()
        assert window.stack.currentWidget() is window.probe
        assert window.probe.primary.run.currentData() == imported.id
    finally:
        window.close()
        window.deleteLater()


def test_train_on_your_own_text_opens_its_dialog(qtbot, window: MainWindow) -> None:
    """The whole flow is tests/gui/test_gui_own_text.py's."""
    click(qtbot, window.start.own_text)
    dialog = window.own_text_dialog
    assert dialog.isVisible() and dialog.focusWidget() is dialog.text and not dialog.start_button.isEnabled()
    assert "Paste a text" in dialog.findChild(QLabel).text()
    dialog.reject()


def test_a_home_with_the_users_corpus_opens_on_the_remembered_panel(qtbot, home: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "mine.txt"
    corpus.write_text("\n\n".join(generate_documents(20, seed=3)) + "\n", encoding="utf-8")
    with Workspace(home) as ws:
        add_corpus(ws, [corpus])
    first = MainWindow(home)
    assert first.stack.currentWidget() is first.data  # nothing remembered yet: the first panel of the work
    first.show_panel(PANEL_INDEX["runs"])
    first.close()
    second = MainWindow(home)
    try:
        assert second.stack.currentWidget() is second.runs
    finally:
        second.close()
        second.deleteLater()
    first.deleteLater()
