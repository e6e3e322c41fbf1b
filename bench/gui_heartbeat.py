"""Does the GUI stay responsive while a model trains, and what does the GUI cost the training?

The real main window (offscreen) trains a `small` model (L4/H256/A4, T128) on the bundled sample corpus from its
Train panel, exactly as a user's Start would (the panel trains in a child process, on `--train-threads` torch
threads: the panel's "CPU threads"; default all cores but one, as the window's own default). Meanwhile a 10 ms
QTimer on the GUI thread records how late each of its ticks fires (lateness = gap - 10 ms), the live curves'
redraws are counted, and the run's training throughput is read from its StepEvents (tokens/s of the steps,
evaluations and checkpoints excluded).
The same run (the Train panel's own `spec()`) is trained headless, as `mlm-workbench train` would, in blocks
interleaved with the GUI blocks; each block records the other processes' CPU use (bench/common.py) and a
contaminated block is re-run.

Targets (issues 3 and 6): heartbeat lateness p99 < 50 ms; curves redrawn >= 2 per second; GUI throughput within
10% of headless (issue 3 says "not slowed by more than 5%").

    python bench/gui_heartbeat.py [--quick] [--seconds S] [--rounds R] [--train-threads N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import bench_args, contamination, measure, percentile, print_table, save_result  # noqa: E402

HEARTBEAT_MS = 10
WARMUP_STEPS = 10  # first steps include kernel selection and allocator growth


def _args():
    def extra(parser):
        parser.add_argument("--seconds", type=float, default=None, help="measured seconds per block")
        parser.add_argument("--preset", default="small")
        parser.add_argument("--train-threads", type=int, default=None,
                            help="torch threads of both trainings (default: all cores but one)")
    args = bench_args(__doc__.splitlines()[0], extra)
    args.seconds = args.seconds or (8.0 if args.quick else 30.0)
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


class Throughput:
    """A training listener: tokens/s between the first StepEvent after warm-up and the last one."""

    def __init__(self) -> None:
        self.first = None
        self.last = None

    def __call__(self, event: object) -> None:
        from workbench.core.training_types import StepEvent

        if isinstance(event, StepEvent) and event.step >= WARMUP_STEPS:
            self.first = self.first or event
            self.last = event

    def tokens_per_second(self, tokens_per_step: int) -> float:
        if self.first is None or self.last is self.first:
            return float("nan")
        return (self.last.step - self.first.step) * tokens_per_step / (self.last.elapsed - self.first.elapsed)


def make_window(home: Path, preset: str, threads: int):
    from PySide6.QtCore import QStandardPaths
    from PySide6.QtWidgets import QApplication

    from workbench.gui.main_window import PANEL_INDEX, MainWindow
    from workbench.settings.model import ModelSpec
    from workbench.settings.train import TrainConfig

    QStandardPaths.setTestModeEnabled(True)  # never the user's own QSettings
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(home)
    window.resize(1280, 860)
    window.show()
    window.state.set_corpus(None)  # the bundled sample
    window.state.set_model(ModelSpec(preset=preset, max_position_embeddings=128))
    train = window.train
    train.settings.apply(replace(TrainConfig(), steps=100_000, batch_size=8, eval_every=200, checkpoint_every=100_000,
                                 log_every=1, device="cpu"))  # a point per step: the most redrawing
    train.settings.threads.set_value(threads)
    window.show_panel(PANEL_INDEX["train"])
    app.processEvents()
    return app, window


def gui_block(app, window, seconds: float) -> dict:
    """Start a run from the Train panel, measure for `seconds` after warm-up, stop it."""
    from PySide6.QtCore import QEventLoop, QTimer

    listener = Throughput()
    late: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        late.append(max(0.0, (now - last[0]) * 1000 - HEARTBEAT_MS))
        last[0] = now

    assert window.train.start(), "the Train panel refused to start"
    window.train.task.event.connect(listener)  # a plain callable runs on the worker thread: it only keeps events
    while listener.first is None:  # data preparation and warm-up steps
        app.processEvents()
        time.sleep(0.005)
    timer = QTimer()
    timer.setInterval(HEARTBEAT_MS)
    timer.timeout.connect(beat)
    redraws0, last[0] = window.train.curves.redraw_count, time.perf_counter()
    timer.start()
    loop = QEventLoop()  # the GUI thread idles in Qt's event loop, as in the app (a polling loop would hold the GIL)
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()
    timer.stop()
    redraws = window.train.curves.redraw_count - redraws0
    points = listener.last.step - listener.first.step
    window.train.stop()
    while window.train.task is not None:
        app.processEvents()
        time.sleep(0.01)
    return {"late_ms": late, "redraws_per_s": redraws / seconds, "points_per_s": points / seconds, "listener": listener}


def headless_block(home: Path, spec, seconds: float, threads: int) -> Throughput:
    """The same spec through the engine on a thread of this process, on as many torch threads as the GUI's
    training process, stopped after `seconds`; the window idles meanwhile."""
    import threading

    import torch

    from workbench.core.training_types import TrainControl
    from workbench.jobs.pretrain import start_pretraining
    from workbench.jobs.workspace import Workspace

    listener, control = Throughput(), TrainControl()

    def work() -> None:
        torch.set_num_threads(threads)  # what the Train panel's training process does
        with Workspace(home) as ws:
            start_pretraining(ws, replace(spec, name=None), listeners=[listener], control=control)

    thread = threading.Thread(target=work)
    thread.start()
    while listener.first is None and thread.is_alive():
        time.sleep(0.01)
    time.sleep(seconds)
    control.stop()
    thread.join()
    return listener


def main() -> None:
    args = _args()
    home = Path(tempfile.mkdtemp(prefix="mlm-bench-gui-"))
    from workbench.jobs.background import training_threads

    threads = training_threads(args.train_threads)
    app, window = make_window(home, args.preset, threads)
    spec = window.train.spec()
    tokens_per_step = spec.train.batch_size * spec.model.max_position_embeddings
    gui_runs, headless_runs = [], []
    for r in range(args.rounds):
        order = ("gui", "headless") if r % 2 == 0 else ("headless", "gui")
        for which in order:
            if which == "gui":
                sample, out = measure(lambda: gui_block(app, window, args.seconds), retries=2)
                gui_runs.append((sample, out))
            else:
                sample, out = measure(lambda: headless_block(home, spec, args.seconds, threads), retries=2)
                headless_runs.append((sample, out))
    window.close()

    late = [ms for _, out in gui_runs for ms in out["late_ms"]]
    gui_tps = [out["listener"].tokens_per_second(tokens_per_step) for _, out in gui_runs]
    head_tps = [out.tokens_per_second(tokens_per_step) for _, out in headless_runs]
    ratios = [g / h for g, h in zip(gui_tps, head_tps)]
    results = {
        "preset": args.preset, "batch_size": spec.train.batch_size, "max_len": spec.model.max_position_embeddings,
        "train_threads": threads,
        "heartbeats": len(late), "late_p50_ms": percentile(late, 50), "late_p99_ms": percentile(late, 99),
        "late_max_ms": max(late), "redraws_per_s": statistics.median(o["redraws_per_s"] for _, o in gui_runs),
        "new_points_per_s": statistics.median(o["points_per_s"] for _, o in gui_runs),
        "gui_tokens_per_s": statistics.median(gui_tps), "headless_tokens_per_s": statistics.median(head_tps),
        "gui_over_headless": statistics.median(ratios),
        "contamination": contamination([s for s, _ in gui_runs + headless_runs]),
    }
    print_table(["measure", "value", "target"], [
        ["heartbeat lateness p50 (ms)", results["late_p50_ms"], ""],
        ["heartbeat lateness p99 (ms)", results["late_p99_ms"], "< 50"],
        ["heartbeat lateness max (ms)", results["late_max_ms"], ""],
        ["curve redraws per second", results["redraws_per_s"], ">= 2"],
        ["new loss points per second", results["new_points_per_s"], "(a redraw needs new data)"],
        ["GUI tokens/s", results["gui_tokens_per_s"], ""],
        ["headless tokens/s", results["headless_tokens_per_s"], ""],
        ["GUI / headless throughput", results["gui_over_headless"], ">= 0.95 (issue 3), >= 0.90 (issue 6)"],
    ], title=f"GUI responsiveness while `{args.preset}` trains on {threads} threads ({args.rounds} rounds x "
       f"{args.seconds:.0f} s)")
    print(f"contamination: {results['contamination']}")
    save_result("gui_heartbeat", args, results)


if __name__ == "__main__":
    main()
