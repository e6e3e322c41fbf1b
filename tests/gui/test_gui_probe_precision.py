"""The Probe panel's precision (advanced): bf16 reloads the models through the shared load path, every view then
probes them (Fill-mask shows what the engine's bf16 model gives), the status line says what bf16 means on this
CPU, and fp32 comes back as it was."""

from __future__ import annotations

from pathlib import Path

import torch
from probe_harness import RUN, TIMEOUT, settle

from workbench.core.probing import fill_mask
from workbench.gui.advanced import show_advanced
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace


def test_bf16_reloads_the_models_and_fill_mask_shows_the_bf16_engine(qtbot, probe_panel, trained_home: Path,
                                                                     tmp_path: Path) -> None:
    view = probe_panel.fill
    settle(qtbot, view.computation)
    assert probe_panel.precision.currentText() == "fp32" and probe_panel.context.primary.precision == "fp32"
    fp32_shown = view.displayed()
    probe_panel.precision.setCurrentText("bf16")
    qtbot.waitUntil(lambda: probe_panel.context.primary.precision == "bf16", timeout=TIMEOUT)
    settle(qtbot, view.computation)
    assert next(probe_panel.context.primary.model.parameters()).dtype == torch.bfloat16
    assert "bf16 on a CPU" in probe_panel.status.text()
    with Workspace.open(str(trained_home)) as ws:
        engine = load_probe_model(ws, RUN, precision="bf16", cache=None)
    expected = fill_mask(engine.model, engine.tokenizer, view.text.text(), top_k=5)
    assert [rows for _, rows in view.displayed()[0]] == \
        [[(p.token, p.probability) for p in mask.predictions] for mask in expected.masks]
    probe_panel.resize(1280, 720)
    assert probe_panel.grab().save(str(tmp_path / "probe-precision-bf16.png"))  # to look at: -s --basetemp=DIR
    probe_panel.precision.setCurrentText("fp32")
    qtbot.waitUntil(lambda: probe_panel.context.primary.precision == "fp32", timeout=TIMEOUT)
    settle(qtbot, view.computation)
    assert view.displayed() == fp32_shown and "bf16" not in probe_panel.status.text()


def test_classroom_mode_hides_the_precision(probe_panel) -> None:
    show_advanced(probe_panel, False)
    assert probe_panel.precision.isHidden()
    show_advanced(probe_panel, True)
    assert not probe_panel.precision.isHidden()
