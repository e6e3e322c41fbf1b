"""App start to first painted window, in a fresh process, and whether the window's imports pull in torch.

Each run starts `python -c <child>` with QT_QPA_PLATFORM=offscreen and an empty home folder; the child runs
`workbench.gui.app.run_app` with an event filter that reports the first Paint event of the MainWindow (or
any widget inside it), then reports again once every panel is built (the window builds the panels it does
not show after its first paint, which is when torch loads) and exits. Times are from the parent's spawn to
each report, so interpreter start and every import count. Runs alternate with a bare `python -c pass` to show the interpreter's share.
Then `python -X importtime -c "import workbench.gui.main_window"` says whether torch is imported before the
window exists and, if so, through which chain of modules. Target (issue 6): < 2.5 s, torch deferred.

    python bench/app_start.py [--quick]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from common import ROOT, bench_args, contamination, measure, print_table, save_result

CHILD = r"""
import os, sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication
import workbench.gui.app as app_module

class FirstPaint(QObject):
    window = None

    def eventFilter(self, obj, event):
        if self.window is None and event.type() == QEvent.Type.Paint and hasattr(obj, "window") and \
                type(obj.window()).__name__ == "MainWindow":
            print("PAINTED", "torch" in sys.modules, flush=True)
            self.window = obj.window()
            self.poll = QTimer(interval=5, timeout=self.check_ready)
            self.poll.start()
        return False

    def check_ready(self):
        if all(panel is not None for panel in self.window._built):
            print("READY", flush=True)
            os._exit(0)

app = QApplication(sys.argv[:1])
first_paint = FirstPaint()
app.installEventFilter(first_paint)
sys.exit(app_module.run_app())
"""


def child_env(home: str) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "MLM_WORKBENCH_HOME": home,
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def start_once(code: str, home: str, timeout: float = 120) -> tuple[float, float, bool]:
    """Seconds from spawn to the first paint and to all panels built, and whether torch was loaded at the
    first paint (for `pass`: its run time twice, False)."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env=child_env(home), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT)
    times, torch_loaded = [], False
    for line in child.stdout:  # PAINTED <torch loaded>, then READY
        times.append(time.perf_counter() - started)
        torch_loaded = torch_loaded or line.split()[-1] == "True"
    child.wait(timeout=timeout)
    if code == "pass":
        seconds = time.perf_counter() - started
        return seconds, seconds, False
    if len(times) != 2:
        raise RuntimeError(f"the app did not paint and build its window:\n{child.stderr.read()[-2000:]}")
    return times[0], times[1], torch_loaded


def torch_import_chain(module: str = "workbench.gui.main_window") -> list[str] | None:
    """The chain of imports that first brings in torch when `module` is imported, or None if none does."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                         text=True, env=child_env(tempfile.gettempdir()), cwd=ROOT, timeout=120).stderr
    lines = [line.split("|")[-1] for line in out.splitlines() if line.startswith("import time:")][1:]
    names = [(len(name) - len(name.lstrip()), name.strip()) for name in lines]
    for i, (depth, name) in enumerate(names):
        if name == "torch":
            chain, level = [name], depth
            for parent_depth, parent in names[i + 1:]:  # importtime prints a parent after its children
                if parent_depth < level:
                    chain.append(parent)
                    level = parent_depth
            return chain[::-1]
    return None


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    runs = 2 if args.quick else 7
    app_times, ready_times, bare_times, samples, torch_loaded = [], [], [], [], []
    with tempfile.TemporaryDirectory() as home:
        start_once(CHILD, home)  # first start creates the database: not what a user sees every day
        for _ in range(runs):
            sample, (painted, ready, loaded) = measure(lambda: start_once(CHILD, home))
            samples.append(sample)
            app_times.append(painted)
            ready_times.append(ready)
            torch_loaded.append(loaded)
            sample, (seconds, _, _) = measure(lambda: start_once("pass", home))
            bare_times.append(seconds)
    chain = torch_import_chain()
    median = sorted(app_times)[len(app_times) // 2]
    ready = sorted(ready_times)[len(ready_times) // 2]
    rows = [["start to first paint (median)", median], ["slowest run", max(app_times)],
            ["start to every panel built (median)", ready],
            ["python -c pass (median)", sorted(bare_times)[len(bare_times) // 2]]]
    print_table(["measure", "seconds"], rows, title=f"app start, offscreen, {runs} runs")
    print(f"torch imported when the window painted: {any(torch_loaded)}")
    print("import of workbench.gui.main_window pulls torch via: " + (" -> ".join(chain) if chain else "nothing (deferred)"))
    save_result("app_start", args, {"median_s": median, "max_s": max(app_times), "runs_s": app_times,
                                    "all_panels_median_s": ready, "all_panels_runs_s": ready_times,
                                    "python_bare_s": bare_times, "torch_at_first_paint": any(torch_loaded),
                                    "torch_import_chain": chain, "contamination": contamination(samples)})


if __name__ == "__main__":
    main()
