"""Screenshots of every panel of the real main window, in a realistic state, for the README.

Run under a virtual display (Debian: apt-get install xvfb libxcb-icccm4 libxcb-keysyms1):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python docs/make_screenshots.py [--home DIR] [--steps N]

Without --home it makes a fresh home and pretrains a `seed-demo` model on the bundled sample corpus for --steps
steps through the engine (a few minutes on one CPU thread), so the Probe panel has something learned to show;
then it opens the window, starts a Quick start run so the Train panel's curves move, and saves
docs/screenshots/<panel>.png, then the "Open a Hugging Face model…" dialog as open-hf-model.png (it lists the
Hugging Face cache that HF_HOME or HF_HUB_CACHE points to, the user's own by default) and the "Export model…"
dialog after an ONNX export as export-model.png.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"


def pretrain(home: Path, steps: int) -> None:
    import torch

    from workbench.jobs.pretrain import start_pretraining
    from workbench.jobs.workspace import Workspace
    from workbench.settings.model import ModelSpec
    from workbench.settings.pretrain import PretrainSpec
    from workbench.settings.train import TrainConfig

    torch.set_num_threads(1)
    train = TrainConfig(steps=steps, batch_size=32, lr=2e-3, warmup_steps=100, eval_every=100,
                        checkpoint_every=max(steps // 6, 1), log_every=10, device="cpu")
    spec = PretrainSpec(model=ModelSpec(preset="seed-demo", max_position_embeddings=32), train=train, name="seed-demo")
    with Workspace(home) as ws:
        start_pretraining(ws, spec)


def settle(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save_open_hf_dialog(app, window) -> Path:
    """The "Open a Hugging Face model…" dialog over the Probe panel, its first openable model selected."""
    from workbench.gui.main_window import PANEL_INDEX
    from workbench.gui.open_hf_dialog import open_hf_dialog

    window.show_panel(PANEL_INDEX["probe"])
    dialog = open_hf_dialog(window.probe, window.state, window.runner)
    settle(app, 1)
    path = OUT / "open-hf-model.png"
    dialog.grab().save(str(path))
    dialog.reject()
    return path


def save_export_dialog(app, window, run_id: int) -> Path:
    """The Runs panel's "Export model…" dialog after exporting `run_id` as ONNX with an int8 copy."""
    from workbench.gui.main_window import PANEL_INDEX

    window.show_panel(PANEL_INDEX["runs"])
    window.runs.select_run(run_id)
    dialog = window.runs.export_model()
    dialog.format.setCurrentIndex(2)
    dialog.folder.setText(tempfile.mkdtemp(prefix="mlm-export-"))
    dialog.start_export()
    while dialog.task is not None:
        settle(app, 0.2)
    settle(app, 0.5)
    path = OUT / "export-model.png"
    dialog.grab().save(str(path))
    dialog.reject()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="an existing home with a trained run (skips pretraining)")
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="mlm-screens-"))
    if args.home is None:
        pretrain(home, args.steps)

    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication

    from workbench.gui.main_window import MainWindow

    QStandardPaths.setTestModeEnabled(True)  # the user's own remembered settings stay untouched
    app = QApplication(sys.argv[:1])
    window = MainWindow(home)
    window.resize(1440, 900)
    window.show()
    settle(app, 3)
    OUT.mkdir(exist_ok=True)
    window.quick_start()  # the Train panel with moving curves
    settle(app, 45)
    finished = [run.id for run in window.state.store.list_runs() if run.status == "completed"]
    for index, (title, panel) in enumerate(window.panels):
        window.show_panel(index)
        if panel is window.runs and finished:  # a finished run's curves rather than an empty details pane
            window.runs.refresh()
            settle(app, 1)
            window.runs.table.select_ids(finished[:1], finished[0])
            window.runs.tabs.setCurrentIndex(1)
        settle(app, 4)
        path = OUT / f"{index}-{title.lower().replace('-', '')}.png"  # 0-start.png, 1-data.png, ...
        window.grab().save(str(path))
        print(f"saved {path}")
    print(f"saved {save_open_hf_dialog(app, window)}")
    if finished:
        print(f"saved {save_export_dialog(app, window, finished[0])}")
    window.confirm_stop_running = lambda: True
    window.close()


if __name__ == "__main__":
    main()
