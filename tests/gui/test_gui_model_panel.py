"""The Model panel driven as a user would: presets fill the fields, the parameter count and memory estimate are
the engine's, the fields' ranges are ModelSpec's, and invalid values are marked at the field with the reason and
reported to the state (Start waits) until fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import QStandardPaths, Qt  # noqa: E402

from workbench.core.model_config import count_parameters, estimate_training_memory  # noqa: E402
from workbench.gui.panels.model_panel import INVALID_STYLE, ModelPanel, format_bytes  # noqa: E402
from workbench.gui.state import AppState  # noqa: E402
from workbench.gui.workers import TaskRunner  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.base import SettingError  # noqa: E402
from workbench.settings.model import PRESETS, ModelSpec, preset_config  # noqa: E402
from workbench.views.choices import preview_tokenizer  # noqa: E402


@pytest.fixture
def opened(qtbot, home: Path):
    QStandardPaths.setTestModeEnabled(True)
    state, runner = AppState(home), TaskRunner()
    panel = ModelPanel(state, runner)
    qtbot.addWidget(panel)
    panel.resize(1100, 750)
    panel.show()
    yield state, panel
    panel.close()
    runner.shutdown()
    state.close()


def _params(panel: ModelPanel) -> int:
    return int(panel.params_label.text().split()[0].replace(",", ""))


def test_preset_fills_fields_and_counts_parameters(qtbot, opened) -> None:
    state, panel = opened
    assert "8,000 tokens assumed" in panel.vocab_label.text()
    for name in ("mini", "seed-demo", "medium"):
        panel.preset_combo.setCurrentText(name)
        preset = PRESETS[name]
        assert panel.spins["num_hidden_layers"].value() == preset["num_hidden_layers"]
        assert panel.spins["hidden_size"].value() == preset["hidden_size"]
        assert panel.spins["num_attention_heads"].value() == preset["num_attention_heads"]
        assert panel.spins["intermediate_size"].value() == preset["intermediate_size"]
        assert _params(panel) == count_parameters(preset_config(name, 8000, 128))
        assert state.model == ModelSpec(preset=name) and state.model_error is None


def test_edits_override_the_preset(qtbot, opened) -> None:
    state, panel = opened
    panel.preset_combo.setCurrentText("small")
    panel.spins["num_hidden_layers"].setValue(3)
    panel.spins["max_position_embeddings"].setValue(96)
    qtbot.mouseClick(panel.pre_ln_check, Qt.MouseButton.LeftButton, pos=panel.pre_ln_check.rect().center())
    assert state.model == ModelSpec(preset="small", num_hidden_layers=3, max_position_embeddings=96,
                                    pre_layer_norm=True)
    assert "preset: 4" in panel.hints["num_hidden_layers"].text() and "overridden: layers" in panel.preset_note.text()
    expected = preset_config("small", 8000, 96, num_hidden_layers=3, pre_layer_norm=True)
    assert _params(panel) == count_parameters(expected)
    panel.preset_combo.setCurrentText("tiny")  # another preset: the overrides go
    assert state.model.overrides() == {} and panel.spins["num_hidden_layers"].value() == 2


def test_invalid_heads_are_marked_at_the_field_until_fixed(qtbot, opened) -> None:
    state, panel = opened
    panel.preset_combo.setCurrentText("tiny")  # hidden 128
    heads = panel.spins["num_attention_heads"]
    heads.selectAll()
    qtbot.keyClicks(heads, "3")
    assert heads.value() == 3
    assert panel.frames["num_attention_heads"].styleSheet() == INVALID_STYLE
    assert "must divide the hidden size 128" in panel.hints["num_attention_heads"].text()
    assert "must divide the hidden size 128" in heads.toolTip()
    assert state.model_error.startswith("Attention heads must divide") and state.model.overrides() == {}
    assert panel.params_label.text() == "- parameters"
    assert panel.frames["hidden_size"].styleSheet() != INVALID_STYLE
    heads.setValue(4)
    assert state.model_error is None and state.model.overrides() == {"num_attention_heads": 4}
    assert panel.frames["num_attention_heads"].styleSheet() != INVALID_STYLE
    assert panel.hints["num_attention_heads"].text().endswith("2</span>")
    assert "the hidden size 128" not in heads.toolTip() and panel.hints["num_attention_heads"].text() != ""


def test_field_ranges_are_the_settings(qtbot, opened) -> None:
    state, panel = opened
    max_len = panel.spins["max_position_embeddings"]
    assert max_len.minimum() == ModelSpec.spec("max_position_embeddings").meta.low == 8  # 4 cannot be typed
    max_len.setValue(4)
    assert max_len.value() == 8 and state.model.max_position_embeddings == 8 and state.model_error is None
    with pytest.raises(SettingError, match="max_position_embeddings must be an integer from 8"):
        ModelSpec(max_position_embeddings=4)  # and a spec from elsewhere cannot carry it either
    assert ModelSpec.spec("hidden_size").meta.help in panel.spins["hidden_size"].toolTip()


def test_memory_estimate_follows_batch_size_and_precision(qtbot, opened) -> None:
    state, panel = opened
    config = preset_config("tiny", 8000, 128)

    def shown() -> dict[str, str]:
        return {key: label.text() for key, label in panel.memory_labels.items()}

    def expected(batch: int, precision: str, device: str = "cpu") -> dict[str, str]:
        estimate = estimate_training_memory(config, batch, 128, precision, state.masking.mlm_probability, device)
        return {key: format_bytes(value) for key, value in estimate.to_dict().items()}

    assert shown() == expected(32, "fp32")
    panel.batch_spin.setValue(256)
    assert shown() == expected(256, "fp32") and shown()["activations"] != expected(32, "fp32")["activations"]
    panel.precision_combo.setCurrentText("bf16")
    assert shown() == expected(256, "bf16") and shown()["total"] != expected(256, "fp32")["total"]
    panel.batch_spin.setValue(2048)
    assert shown()["total"].endswith(" GB") and shown() == expected(2048, "bf16")
    panel.device_combo.setCurrentText("CUDA GPU")  # device memory: tensors only, no CPU runtime
    assert shown() == expected(2048, "bf16", "cuda") and shown()["runtime"] == format_bytes(0)
    assert "CUDA GPU" in panel.memory_note.text() and "CUDA context" in panel.memory_note.text()


def test_vocab_follows_the_current_tokenizer(qtbot, opened) -> None:
    state, panel = opened
    with Workspace(state.home) as ws:
        record = preview_tokenizer(ws, None, None)
    state.tokenizers_changed.emit()
    assert f"vocabulary {record.vocab_size:,} tokens, from tokenizer {record.id}" in panel.vocab_label.text()
    assert _params(panel) == count_parameters(preset_config("tiny", record.vocab_size, 128))


def test_choices_from_elsewhere_are_shown_and_checked(qtbot, opened) -> None:
    state, panel = opened
    state.set_model(ModelSpec(preset="mini", hidden_size=300, max_position_embeddings=64))
    assert panel.spins["hidden_size"].value() == 300 and panel.spins["max_position_embeddings"].value() == 64
    assert panel.spins["num_attention_heads"].value() == 3 and "preset: 192" in panel.hints["hidden_size"].text()
    with pytest.raises(SettingError, match="num_attention_heads must divide the hidden size 200"):
        ModelSpec(preset="mini", hidden_size=200)  # 200 heads of 3 cannot even be sent


def test_architecture_options_reach_the_spec_and_the_count(qtbot, opened) -> None:
    state, panel = opened
    assert not panel.options["rope_theta"].isEnabled() and not panel.options["glu_size"].isEnabled()
    panel.options["position_embedding_type"].setCurrentText("rope")
    panel.options["feed_forward"].setCurrentText("geglu")
    panel.options["bias"].setChecked(False)
    panel.options["local_attention"].setValue(64)
    assert panel.options["rope_theta"].isEnabled() and panel.options["global_attn_every_n_layers"].isEnabled()
    expected = ModelSpec(preset="tiny", max_position_embeddings=state.model.max_position_embeddings,
                         position_embedding_type="rope", feed_forward="geglu", bias=False, local_attention=64)
    assert state.model == expected
    assert _params(panel) == count_parameters(expected.config(panel.vocab_size))
    assert panel.options["rope_theta"].toolTip().startswith("RoPE only")
    state.set_model(ModelSpec(preset="tiny", feed_forward="swiglu", glu_size="same-width"))
    assert panel.options["feed_forward"].currentText() == "swiglu"
    assert panel.options["glu_size"].currentText() == "same-width" and panel.options["bias"].isChecked()
