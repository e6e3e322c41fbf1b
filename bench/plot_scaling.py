"""Draw the latest full `bench/scaling.py` result as docs/scaling.png: for each varied knob (sequence length,
layers, batch size), training tokens/s, and measured peak memory against the Model panel's estimate.

pyqtgraph (already the app's plotting library) renders it offscreen, so the docs need no other package.

    python bench/plot_scaling.py [--out docs/scaling.png]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from common import ROOT  # noqa: E402

KNOBS = (("seq_len", "sequence length (tokens)"), ("layers", "layers"), ("batch", "batch size (sequences)"))
PEAK_COLOR, ESTIMATE_COLOR, SPEED_COLOR = "#1f77b4", "#ff7f0e", "#2ca02c"


def latest_full_result(path) -> dict:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    full = [line for line in lines if not line.get("quick")]
    if not full:
        raise SystemExit(f"no full (non --quick) run in {path}: run bench/scaling.py first")
    return full[-1]


def series(points: dict, knob: str) -> list[dict]:
    chosen = [p for name, p in points.items() if name.startswith(f"{knob}=")]
    return sorted(chosen, key=lambda p: p[knob])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "scaling.png"))
    args = parser.parse_args()

    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    result = latest_full_result(ROOT / "bench" / "results" / "scaling.jsonl")
    points = result["results"]["points"]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    canvas = pg.GraphicsLayoutWidget()
    canvas.setBackground("w")
    canvas.resize(1200, 900)
    base = result["base"]
    canvas.addLabel(f"Scaling around L{base['layers']}/H{base['hidden']}/A{base['heads']}, V{base['vocab']}, "
                    f"T{base['seq_len']}, B{base['batch']} (fp32, dropout 0.1) on {result['machine']['cpu']}, "
                    f"{result['date'][:10]}", row=0, col=0, colspan=2, color="#222222")
    for row, (knob, label) in enumerate(KNOBS, start=1):
        chosen = series(points, knob)
        xs = [p[knob] for p in chosen]
        speed = canvas.addPlot(row=row, col=0, title="training tokens/s")
        speeds = [p["tokens_per_s"] for p in chosen]
        speed.plot(xs, speeds, pen=pg.mkPen(SPEED_COLOR, width=2), symbol="o", symbolBrush=SPEED_COLOR, symbolPen=None)
        speed.setYRange(0, 1.1 * max(speeds), padding=0)  # from zero: a narrow range would exaggerate noise
        memory = canvas.addPlot(row=row, col=1, title="peak memory (MB): measured vs estimate")
        legend = memory.addLegend(offset=(10, 10)) if row == 1 else None
        for key, color, name in (("peak_mb", PEAK_COLOR, "measured peak RSS"),
                                 ("estimate_mb", ESTIMATE_COLOR, "Model panel estimate")):
            memory.plot(xs, [p[key] for p in chosen], pen=pg.mkPen(color, width=2), symbol="o", symbolBrush=color,
                        symbolPen=None, name=name)
        for plot in (speed, memory):
            plot.setLabel("bottom", label)
            plot.showGrid(x=True, y=True, alpha=0.2)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setTextPen(pg.mkPen("#333333"))
                axis.enableAutoSIPrefix(False)
            plot.getAxis("left").setWidth(55)  # room for "5000": a narrow axis drops its tick labels
        if legend is not None:
            legend.setLabelTextColor("#222222")
    app.processEvents()
    canvas.grab().save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
