"""The Masking panel driven as a user would: the split always sums to 100, settings reach the state, the preview
colours and re-rolls, and the proportions measured on the corpus appear and match the settings."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QPoint, QStandardPaths, Qt  # noqa: E402

from workbench.gui.panels.masking_panel import MEASURE_DELAY_MS, MaskingPanel  # noqa: E402
from workbench.gui.panels.masking_preview import COLOURS  # noqa: E402
from workbench.gui.state import AppState  # noqa: E402
from workbench.gui.workers import TaskRunner  # noqa: E402
from workbench.jobs.corpora import add_corpus  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.masking import MaskingConfig  # noqa: E402
from workbench.views.choices import preview_tokenizer  # noqa: E402

WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def _test_settings() -> None:
    QStandardPaths.setTestModeEnabled(True)


@pytest.fixture(scope="module")
def prepared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose sample corpus already has its default tokenizer: each panel starts in seconds."""
    home = tmp_path_factory.mktemp("home")
    with Workspace(home) as ws:
        preview_tokenizer(ws, None, None)
    return home


def _open(qtbot, home: Path):
    state, runner = AppState(home), TaskRunner()
    panel = MaskingPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1100, 750)
    panel.show()
    return state, runner, panel


def _close(panel: MaskingPanel, runner: TaskRunner, state: AppState) -> None:
    panel.close()  # a hidden panel starts no new measurement
    runner.shutdown()
    state.close()


@pytest.fixture
def opened(qtbot, prepared_home: Path):
    state, runner, panel = _open(qtbot, prepared_home)
    yield state, panel
    _close(panel, runner, state)


def _wait_measured(qtbot, panel: MaskingPanel) -> None:
    qtbot.waitUntil(lambda: not panel._measure_timer.isActive() and panel._measure_task is None
                    and panel.stats is not None, timeout=WAIT_MS)


def test_split_always_sums_to_100(qtbot, opened) -> None:
    state, panel = opened
    rng = random.Random(3)
    for _ in range(150):
        spin = rng.choice(panel.form.split_spins)
        spin.setValue(rng.randint(0, 100))
        split = [s.value() for s in panel.form.split_spins]
        assert sum(split) == 100
        assert state.masking.mask_replace_prob == pytest.approx(split[0] / 100)
        assert state.masking.random_replace_prob == pytest.approx(split[1] / 100)
        assert state.masking.keep_prob == pytest.approx(split[2] / 100)
    keep = panel.form.split_spins[2]  # typed by hand, as a user would
    keep.selectAll()
    qtbot.keyClicks(keep, "37")
    qtbot.keyClick(keep, Qt.Key.Key_Return)
    assert keep.value() == 37 and sum(s.value() for s in panel.form.split_spins) == 100


def test_rate_slider_sets_the_state(qtbot, opened) -> None:
    state, panel = opened
    panel.form.rate_slider.setValue(40)
    assert state.masking.mlm_probability == pytest.approx(0.4)
    assert panel.form.rate_label.text() == "40%"
    panel.form.rate_slider.setFocus()
    qtbot.keyClick(panel.form.rate_slider, Qt.Key.Key_Right)
    assert state.masking.mlm_probability == pytest.approx(0.41)
    assert state.masking.seed == MaskingConfig().seed


def test_strategy_enables_span_fields_and_static_masking(qtbot, opened) -> None:
    state, panel = opened
    assert not panel.form.span_p.isEnabled() and not panel.form.span_max.isEnabled()
    panel.form.strategy_combo.setCurrentText("span")
    assert panel.form.span_p.isEnabled() and panel.form.span_max.isEnabled()
    panel.form.span_p.setValue(0.35)
    panel.form.span_max.setValue(5)
    assert (state.masking.strategy, state.masking.span_geometric_p, state.masking.span_max_length) == ("span", 0.35, 5)
    panel.form.strategy_combo.setCurrentText("whole-word")
    assert not panel.form.span_p.isEnabled() and state.masking.strategy == "whole-word"
    radio = panel.form.static_radio
    qtbot.mouseClick(radio, Qt.MouseButton.LeftButton, pos=QPoint(8, radio.height() // 2))  # on the indicator
    assert state.masking.dynamic is False


def test_preview_colours_and_reroll(qtbot, opened) -> None:
    state, panel = opened
    qtbot.waitUntil(lambda: panel.preview is not None, timeout=WAIT_MS)
    panel.form.rate_slider.setValue(80)
    for index, value in ((0, 40), (1, 30)):
        panel.form.split_spins[index].setValue(value)
    panel.preview_box.sentence_edit.setText("the dogs near the old barn bark at the moon every night and the cats sleep all day")
    kinds = set(panel.preview.replacements) - {None}
    assert kinds == {"mask", "random", "kept"}
    shown = panel.preview_box.label.text()
    for kind in kinds:
        assert COLOURS[kind][0] in shown
    assert "[MASK]" in shown and "dogs" in shown
    before, html_before = panel.preview.replacements, shown
    qtbot.mouseClick(panel.preview_box.reroll_button, Qt.MouseButton.LeftButton)
    assert panel.preview.replacements != before and panel.preview_box.label.text() != html_before
    assert "tokens chosen" in panel.preview_box.status.text()


def test_measured_proportions_match_the_settings(qtbot, opened) -> None:
    state, panel = opened
    _wait_measured(qtbot, panel)
    panel.form.rate_slider.setValue(30)
    panel.form.split_spins[0].setValue(60)  # 60 / 10 / 30
    panel.form.strategy_combo.setCurrentText("span")
    _wait_measured(qtbot, panel)
    stats = panel.stats
    assert stats.tokens >= 200_000
    assert stats.selection_rate == pytest.approx(0.30, abs=0.01)
    assert stats.shares() == pytest.approx((0.6, 0.1, 0.3), abs=0.02)
    assert 2.5 < stats.mean_run_words < 5.5  # nominal 3.8 words
    assert panel.measured_labels[0].text() == f"{100 * stats.selection_rate:.1f}%"
    assert panel.measured_labels[4].isVisibleTo(panel)
    assert "tokens of corpus 'sample'" in panel.measure_status.text()


def test_measures_only_while_shown(qtbot, opened) -> None:
    state, panel = opened
    _wait_measured(qtbot, panel)
    panel.hide()  # another panel is in front, or the window has closed
    panel.form.rate_slider.setValue(50)
    qtbot.wait(MEASURE_DELAY_MS + 200)
    assert panel._measure_task is None and panel.stats.selection_rate == pytest.approx(0.15, abs=0.01)
    panel.show()
    _wait_measured(qtbot, panel)
    assert panel.stats.selection_rate == pytest.approx(0.50, abs=0.01)


def test_state_changes_from_elsewhere_show_in_the_widgets(qtbot, opened) -> None:
    state, panel = opened
    state.set_masking(MaskingConfig(mlm_probability=0.25, mask_replace_prob=0.5, random_replace_prob=0.2,
                                    strategy="span", span_max_length=7, dynamic=False, seed=5))
    assert panel.form.rate_slider.value() == 25 and [s.value() for s in panel.form.split_spins] == [50, 20, 30]
    assert panel.form.span_max.value() == 7 and panel.form.static_radio.isChecked()
    panel.form.rate_slider.setValue(26)
    assert state.masking.seed == 5  # the seed is kept


def test_another_corpus_is_measured_with_the_borrowed_tokenizer(qtbot, opened, tmp_path: Path) -> None:
    state, panel = opened
    _wait_measured(qtbot, panel)
    sample_tokenizer = panel.source.record
    text = tmp_path / "barns.txt"
    text.write_text("\n\n".join(f"the old barn number {i} stands near the river" for i in range(400)))
    with Workspace(state.home) as ws:
        add_corpus(ws, [text], f"barns-{tmp_path.name}")
    state.corpora_changed.emit()
    state.set_corpus(f"barns-{tmp_path.name}")
    qtbot.waitUntil(lambda: panel.source.corpus_name == state.corpus_name, timeout=WAIT_MS)
    _wait_measured(qtbot, panel)
    assert panel.source.record == sample_tokenizer  # the new corpus has no tokenizer of its own yet
    assert panel.source.sample.n_docs == 400 and panel.stats.tokens < 10_000 and f"corpus 'barns-{tmp_path.name}'" in panel.measure_status.text()


def test_fresh_home_prepares_a_tokenizer_first(qtbot, home: Path) -> None:
    state, runner, panel = _open(qtbot, home)
    try:
        assert panel.preview_box.status.text() == "preparing a tokenizer..."
        with qtbot.waitSignal(state.tokenizers_changed, timeout=WAIT_MS):
            pass
        qtbot.waitUntil(lambda: panel.preview is not None, timeout=WAIT_MS)
        assert len(state.store.list_tokenizers()) == 1
        assert panel.preview.tokens[0] == "[CLS]"
    finally:
        _close(panel, runner, state)


def test_a_rate_schedule_and_the_evaluation_rate_reach_the_run(opened, qtbot) -> None:
    state, panel = opened
    form = panel.form
    assert state.masking.rate_schedule is None and not form.schedule_shape.isEnabled()
    form.schedule.none_box.setChecked(False)
    qtbot.keyClicks(form.schedule.editor, "30,15,5")
    form.schedule_shape.setCurrentText("linear")
    form.eval_rate.setValue(0.2)
    assert (state.masking.rate_schedule, state.masking.schedule_shape) == ("30,15,5", "linear")
    assert state.masking.eval_mlm_probability == 0.2 and form.schedule_shape.isEnabled()
    form.schedule.editor.setText("90,5")  # out of range: said under the field, and no schedule reaches the run
    assert state.masking.rate_schedule is None and form.schedule_error.isVisibleTo(form)
    assert "from 1 to 80 percent" in form.schedule_error.text()
    form.schedule.editor.setText("40,10")
    assert state.masking.rate_schedule == "40,10" and not form.schedule_error.isVisibleTo(form)
