"""The guided lesson (View → Lesson, and classroom mode): six steps that drive the real panels, Next and Back, and
the Masking panel's help in the lesson's own words."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from workbench.gui.main_window import MainWindow
from workbench.jobs.demo_model import find_demo_run
from workbench.settings.masking import MaskingConfig
from workbench.views.lesson import LESSON, MASKING_WHY

WAIT = 120_000  # ms; the machine is small and may be busy


def click(qtbot, button) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def fill_ready(qtbot, window: MainWindow, masks: int) -> list:
    """The Fill-mask view's charts once the model has answered the step's sentence ([(title, rows)] per mask)."""
    view = window.probe.fill
    qtbot.waitUntil(lambda: bool(window.probe.context.models) and not view.computation.busy
                    and bool(view.displayed()) and len(view.displayed()[0]) == masks, timeout=WAIT)
    return view.displayed()[0]


def test_the_lesson_steps_through_the_real_panels_and_back(qtbot, window: MainWindow) -> None:
    strip, state = window.lesson, window.state
    click_next = lambda: click(qtbot, strip.next_button)  # noqa: E731
    window.lesson.start()  # View → Lesson
    assert strip.isVisible() and "Step 1 of 6: The text" in strip.heading.text()
    assert window.current_panel_name() == "data" and state.corpus_name is None and not strip.back_button.isEnabled()
    qtbot.waitUntil(lambda: window.data.selected_name() == "sample"
                    and bool(window.data.details.preview.toPlainText()), timeout=WAIT)  # the sample's text

    click_next()  # 2: hiding 15% of the words, and why 80/10/10
    assert window.current_panel_name() == "masking" and "Step 2 of 6" in strip.heading.text()
    assert state.masking == MaskingConfig(seed=state.masking.seed)  # BERT's 15% and 80/10/10, as the text says
    assert MASKING_WHY in strip.text.toPlainText()
    masking = window.masking
    assert masking.preview_box.text() == LESSON[1].sentence
    qtbot.waitUntil(lambda: masking.preview is not None, timeout=WAIT)
    assert any(kind is not None for kind in masking.preview.replacements)  # words hidden in the sentence shown

    click_next()  # 3: the demo model guesses a word of a sentence it read
    probe = window.probe
    assert window.current_panel_name() == "probe" and probe.tabs.currentWidget() is probe.fill
    assert probe.fill.text.text() == LESSON[2].sentence
    qtbot.waitUntil(lambda: find_demo_run(state.store) is not None
                    and probe.primary.run.currentData() == find_demo_run(state.store).id, timeout=WAIT)
    [(_, guesses)] = fill_ready(qtbot, window, masks=1)
    assert guesses[0][0] == "peru"

    click_next()  # 4: the Train panel, with Start training in the strip
    assert window.current_panel_name() == "train" and "Step 4 of 6" in strip.heading.text()
    assert strip.action_button.text() == "Start training" and strip.action_button.isVisible()
    assert "just guess common words" in strip.text.toPlainText()

    click_next()  # 5: new sentences
    assert window.current_panel_name() == "probe" and probe.tabs.currentWidget() is probe.fill
    assert probe.fill.text.text() == LESSON[4].sentence and not strip.action_button.isVisible()
    fill_ready(qtbot, window, masks=2)

    click_next()  # 6: attention
    assert probe.tabs.currentWidget() is probe.attention and probe.attention.text.text() == LESSON[5].sentence
    qtbot.waitUntil(lambda: probe.attention.display is not None, timeout=WAIT)
    assert not strip.next_button.isEnabled() and "Step 6 of 6" in strip.heading.text()

    click(qtbot, strip.back_button)  # Back: step 5 again, on the Fill-mask view
    assert "Step 5 of 6" in strip.heading.text() and probe.tabs.currentWidget() is probe.fill
    for _ in range(3):
        click(qtbot, strip.back_button)
    assert "Step 2 of 6" in strip.heading.text() and window.current_panel_name() == "masking"


def test_the_training_step_starts_a_quick_start_run(qtbot, window: MainWindow) -> None:
    window.lesson.start()
    window.lesson.go(3)
    click(qtbot, window.lesson.action_button)
    assert window.current_panel_name() == "train" and window.train.task is not None
    assert not window.lesson.action_button.isEnabled()  # one run at a time
    qtbot.waitUntil(lambda: len(window.train.curves.live["train_loss"]) >= 1, timeout=WAIT)
    window.train.stop()
    qtbot.waitUntil(lambda: window.train.task is None, timeout=WAIT)


def test_classroom_mode_opens_the_lesson_strip(qtbot, window: MainWindow) -> None:
    window.classroom.set_on(True)
    assert window.lesson.isVisible() and window.lesson.index == 0
    window.classroom.set_on(False)
    assert not window.lesson.isVisible()


def test_the_masking_panels_help_explains_the_split_in_the_lessons_words(qtbot, window: MainWindow) -> None:
    form = window.masking.form
    form.why.linkActivated.emit("why")
    assert isinstance(form.why_box, QMessageBox) and form.why_box.isVisible()
    assert form.why_box.text() == MASKING_WHY == LESSON[1].text.split("Re-roll for another draw. ")[1]
    assert "80%" in MASKING_WHY and "10%" in MASKING_WHY and "never appears in real text" in MASKING_WHY
    form.why_box.close()


def test_the_masking_step_gives_the_users_settings_back(qtbot, window: MainWindow) -> None:
    """The lesson shows BERT's 15% and 80/10/10 on its sentence, and the presenter's own settings and sentence come
    back when the lesson moves on or closes; what they changed during the step stays."""
    state, strip, masking = window.state, window.lesson, window.masking
    mine = MaskingConfig(mlm_probability=0.3, mask_replace_prob=1.0, random_replace_prob=0.0, strategy="whole-word",
                         seed=state.masking.seed)
    state.set_masking(mine)
    masking.preview_box.sentence_edit.setText("my own sentence")
    strip.start()
    strip.go(1)
    assert state.masking == MaskingConfig(seed=mine.seed) and masking.preview_box.text() == LESSON[1].sentence
    click(qtbot, strip.next_button)  # on to the model guessing
    assert state.masking == mine and masking.config() == mine and masking.preview_box.text() == "my own sentence"
    click(qtbot, strip.back_button)  # the example again
    assert state.masking == MaskingConfig(seed=mine.seed)
    strip.close()  # the lesson ends at its masking step
    assert state.masking == mine and masking.preview_box.text() == "my own sentence"
    strip.open()  # reopened where it was: the example again
    assert state.masking == MaskingConfig(seed=mine.seed) and masking.preview_box.text() == LESSON[1].sentence
    changed = MaskingConfig(mlm_probability=0.2, seed=mine.seed)
    state.set_masking(changed)  # the presenter tries 20% during the step: theirs now
    click(qtbot, strip.next_button)
    assert state.masking == changed and masking.preview_box.text() == "my own sentence"
