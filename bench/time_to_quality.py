"""Time to quality (issue 16): which recipe reaches a good model sooner on this machine, and does it fine-tune better.

For each size and each recipe of `workbench.settings.recipes` (BERT (2018), RoBERTa, Cramming, MosaicBERT-style,
ModernBERT-style), pretrain under the same time budget (`--minutes` of training time, the trainer's own clock:
data preparation, evaluation and checkpoints do not count) on the shared WikiText-2 text, with all cores:
- training text: `valid.txt`; held out: 5% of `test.txt`'s documents, evaluated at 15% masking whatever the
  recipe's training rate (the evaluation rate is fixed, so the curves compare). The workbench splits a corpus by a
  stable hash of each document (`is_validation`), so the bench writes a corpus whose hash split is exactly that:
  the `test.txt` documents the hash puts on the validation side, and the `valid.txt` documents it puts on the
  training side (the 5% of `valid.txt` that the hash would hold out are left out: say so when quoting);
- the loss on the held-out text against training time, one curve per recipe (docs/time_to_quality.png);
- the time each recipe takes to reach the BERT (2018) recipe's loss at the end of the budget (the goal: the best
  in at most 40% of the budget), and each recipe's loss at the end of the budget;
- SST-2 accuracy (4,000 training sentences, the 872-sentence dev set as test) fine-tuned from each recipe's model,
  against the same architecture as BERT (2018)'s from random weights.
With `--objectives`, the same for MLM, CLM and ELECTRA on the BERT (2018) recipe at the same budget, judged by the
SST-2 accuracy (their losses count different things).
One JSON line goes to bench/results/time_to_quality.jsonl.

    python bench/time_to_quality.py [--sizes tiny mini] [--minutes 10] [--objectives] [--quick]
    python bench/time_to_quality.py --plot-only        # redraw docs/time_to_quality.png from the last result
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/time_to_quality.py` from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

from common import RESULTS_DIR, bench_args, save_result  # noqa: E402
from finetune_real import datasets, finetune  # noqa: E402

from workbench.core.corpus import CorpusOptions, is_validation, iter_documents  # noqa: E402
from workbench.core.training_types import EvalEvent, StepEvent  # noqa: E402
from workbench.jobs.corpora import add_corpus  # noqa: E402
from workbench.jobs.pretrain import start_pretraining  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.model import ModelSpec  # noqa: E402
from workbench.settings.pretrain import PretrainSpec  # noqa: E402
from workbench.settings.recipes import RECIPES, apply_recipe  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402

SHARED = ROOT.parent / "shared"
HELD_OUT = 0.05  # the share of test.txt's documents held out (and the corpus' val_fraction)
BASELINE = "bert-2018"
OBJECTIVES = ("mlm", "clm", "electra")
GOAL = 0.4  # the best recipe reaches BERT (2018)'s end-of-budget loss in at most this share of the budget
PLOT = ROOT / "docs" / "time_to_quality.png"


def extra_args(parser) -> None:
    parser.add_argument("--home", type=Path, help="workspace (default: a temp dir)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--sizes", nargs="+", default=["tiny", "mini"])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=tuple(RECIPES))
    parser.add_argument("--minutes", type=float, default=10.0, help="training time of every run")
    parser.add_argument("--objectives", action="store_true", help="also MLM vs CLM vs ELECTRA (BERT (2018) recipe)")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between held-out evaluations")
    parser.add_argument("--max-len", type=int, default=128, help="pretraining positions = fine-tuning max length")
    parser.add_argument("--epochs", type=int, default=4, help="SST-2 fine-tuning epochs")
    parser.add_argument("--lr", type=float, default=3e-4, help="SST-2 fine-tuning learning rate (every arm)")
    parser.add_argument("--sst2-train", type=int, default=4000)
    parser.add_argument("--no-finetune", action="store_true", help="pretraining curves only")
    parser.add_argument("--plot-only", action="store_true", help="redraw the plot from the last saved result")
    parser.add_argument("--results", type=Path, help="JSON-lines file (default: bench/results/time_to_quality.jsonl)")


def write_corpus(shared: Path, folder: Path) -> dict[str, int]:
    """train.txt and held-out.txt, blank-line separated, whose hash split at HELD_OUT is valid.txt / 5% of test.txt;
    checked by reading them back the way the workbench does."""
    wikitext = shared / "corpora/wikitext-2"
    train = [d for d in iter_documents([wikitext / "valid.txt"]) if not is_validation(d, HELD_OUT)]
    held_out = [d for d in iter_documents([wikitext / "test.txt"]) if is_validation(d, HELD_OUT)]
    folder.mkdir(parents=True, exist_ok=True)
    for name, documents in (("train.txt", train), ("held-out.txt", held_out)):
        (folder / name).write_text("\n\n".join(documents) + "\n", encoding="utf-8")
    back = list(iter_documents([folder / "train.txt", folder / "held-out.txt"]))
    validation = [d for d in back if is_validation(d, HELD_OUT)]
    if validation != held_out or len(back) != len(train) + len(held_out):
        raise SystemExit("the written corpus does not split back into valid.txt / held-out test.txt")
    dropped = sum(1 for d in iter_documents([wikitext / "valid.txt"]) if is_validation(d, HELD_OUT))
    return {"train_documents": len(train), "held_out_documents": len(held_out), "valid_documents_left_out": dropped,
            "train_chars": sum(map(len, train)), "held_out_chars": sum(map(len, held_out))}


class Curve:
    """(training seconds, held-out loss) at every evaluation: the StepEvent logged at the same step gives the time."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []
        self._elapsed = 0.0

    def __call__(self, event: object) -> None:
        if isinstance(event, StepEvent):
            self._elapsed = event.elapsed
        elif isinstance(event, EvalEvent):
            self.points.append((round(self._elapsed, 2), event.val_loss))


def pretrain(ws: Workspace, args, size: str, recipe: str, objective: str = "mlm") -> dict:
    # every evaluation reads the whole held-out text; log at each evaluation so its time is known
    train = TrainConfig(steps=10**7, time_budget=args.minutes, eval_every=args.eval_every, eval_batches=10**4,
                        log_every=args.eval_every, checkpoint_every=0, device=args.device, seed=0)
    spec = PretrainSpec(corpus="wikitext-2-tq", val_fraction=HELD_OUT, name=f"{size}-{recipe}-{objective}",
                        model=ModelSpec(preset=size, max_position_embeddings=args.max_len), train=train)
    spec = apply_recipe(spec, recipe)
    if objective != "mlm":
        spec = replace(spec, train=replace(spec.train, objective=objective))
    curve = Curve()
    started = time.perf_counter()
    run, result = start_pretraining(ws, spec, listeners=[curve])
    if result.status != "completed":
        raise SystemExit(f"pretraining {spec.name}: {result.status} {result.message}")
    row = {"size": size, "recipe": recipe, "objective": objective, "run": run.name, "steps": result.steps,
           "wall_seconds": round(time.perf_counter() - started, 1), "final_loss": result.val_loss,
           "final_accuracy": result.val_accuracy, "curve": curve.points}
    print(f"{spec.name}: {result.steps} steps, held-out loss {result.val_loss:.3f} (accuracy "
          f"{result.val_accuracy:.3f}) after {args.minutes:g} min", flush=True)
    return row


def time_to(curve: list[tuple[float, float]], target: float) -> float | None:
    """The training time at which the held-out loss first reaches `target`, interpolated between evaluations."""
    previous = None
    for seconds, loss in curve:
        if loss <= target:
            if previous is None:
                return seconds
            (s0, l0) = previous
            return s0 + (seconds - s0) * (l0 - target) / (l0 - loss)
        previous = (seconds, loss)
    return None


def summarise(rows: list[dict], size: str, budget_s: float) -> None:
    """Each recipe's time to BERT (2018)'s end-of-budget loss, as a share of the budget (in place)."""
    base = next(r for r in rows if (r["size"], r["recipe"], r["objective"]) == (size, BASELINE, "mlm"))
    for row in rows:
        if row["size"] == size and row["objective"] == "mlm":
            reached = time_to(row["curve"], base["final_loss"])
            row["target_loss"] = base["final_loss"]
            row["time_to_target_s"] = None if reached is None else round(reached, 1)
            row["share_of_budget"] = None if reached is None else round(reached / budget_s, 3)


def plot(result: dict, out: Path) -> None:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    rows = [r for r in result["results"]["pretraining"] if r["objective"] == "mlm"]
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    colors = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    canvas = pg.GraphicsLayoutWidget()
    canvas.setBackground("w")
    canvas.resize(max(900, 620 * len(sizes)), 560)
    machine = result["machine"]
    canvas.addLabel(f"Held-out masked-LM loss (15% masking) against training time, WikiText-2<br>{machine['cpu']}, "
                    f"{machine['threads']} thread(s), {result['date'][:10]}", row=0, col=0, colspan=len(sizes),
                    color="#222222")
    for col, size in enumerate(sizes):
        chart = canvas.addPlot(row=1, col=col, title=size)
        legend = chart.addLegend(offset=(-10, 10))
        for index, row in enumerate(r for r in rows if r["size"] == size):
            minutes = [seconds / 60 for seconds, _ in row["curve"]]
            color = colors[index % len(colors)]
            # symbols: a recipe with few steps per minute (RoBERTa's 8-batch steps) may have one evaluation only
            chart.plot(minutes, [loss for _, loss in row["curve"]], pen=pg.mkPen(color, width=2), symbol="o",
                       symbolSize=5, symbolBrush=color, symbolPen=None, name=RECIPES[row["recipe"]].label if row["recipe"] in RECIPES else row["recipe"])
        chart.setLabel("bottom", "training time (minutes)")
        chart.setLabel("left", "held-out loss")
        chart.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            chart.getAxis(side).setTextPen(pg.mkPen("#333333"))
        legend.setLabelTextColor("#222222")
    app.processEvents()
    canvas.grab().save(str(out))
    print(f"wrote {out}")


def last_result(path: Path) -> dict:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    full = [line for line in lines if not line.get("quick")] or lines
    return full[-1]


def print_tables(results: dict, args) -> None:
    print(f"\nheld-out loss after {args.minutes:g} min; time to BERT (2018)'s loss (goal: best <= {GOAL:.0%})")
    print("| size | recipe | steps | loss at budget | time to BERT (2018)'s loss | share of budget | SST-2 acc |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for row in results["pretraining"]:
        if row["objective"] != "mlm":
            continue
        share = row.get("share_of_budget")
        reached = "not reached" if share is None else f"{row['time_to_target_s']:.0f} s"
        print(f"| {row['size']} | {RECIPES[row['recipe']].label} | {row['steps']} | {row['final_loss']:.3f} | "
              f"{reached} | {'-' if share is None else f'{share:.0%}'} | {row.get('sst2', '-')} |")
    for size, score in results.get("scratch", {}).items():
        print(f"| {size} | from scratch (BERT (2018) architecture) | 0 | - | - | - | {score} |")
    if args.objectives:
        print(f"\nobjectives at {args.minutes:g} min (BERT (2018) recipe), judged by SST-2 accuracy")
        print("| size | objective | steps | SST-2 acc |")
        print("| --- | --- | ---: | ---: |")
        for row in results["pretraining"]:
            if row["recipe"] == BASELINE:
                print(f"| {row['size']} | {row['objective']} | {row['steps']} | {row.get('sst2', '-')} |")


def main() -> None:
    args = bench_args(__doc__.split("\n\n")[0], extra_args)
    path = args.results or RESULTS_DIR / "time_to_quality.jsonl"
    if args.plot_only:
        plot(last_result(path), PLOT)
        return
    if not (args.shared / "corpora/wikitext-2").is_dir():
        raise SystemExit(f"{args.shared}/corpora/wikitext-2 is absent")
    if args.quick:
        args.minutes, args.eval_every, args.sizes, args.sst2_train = 0.1, 10, args.sizes[:1], 400
    args.recipes = [BASELINE, *(r for r in args.recipes if r != BASELINE)]  # the target comes from BERT (2018)
    home = args.home or Path(tempfile.mkdtemp(prefix="time-to-quality-"))
    results: dict = {"corpus": write_corpus(args.shared, home / "corpus"), "pretraining": [], "scratch": {}}
    with Workspace(home) as ws:
        add_corpus(ws, [home / "corpus"], name="wikitext-2-tq", options=CorpusOptions())
        files = None if args.no_finetune else datasets(args.shared, home, args.sst2_train, args.quick)["sst2"]
        for size in args.sizes:
            arms = [(recipe, "mlm") for recipe in args.recipes]
            arms += [(BASELINE, objective) for objective in OBJECTIVES[1:]] if args.objectives else []
            rows = [pretrain(ws, args, size, recipe, objective) for recipe, objective in arms]
            summarise(rows, size, args.minutes * 60)
            if files is not None:
                for row in rows:
                    row["sst2"] = round(finetune(ws, args, "sst2", files, {"from_run": row["run"]}, 0)["test"], 3)
                scratch = finetune(ws, args, "sst2", files, {"scratch_like": rows[0]["run"]}, 0)
                results["scratch"][size] = round(scratch["test"], 3)
            results["pretraining"] += rows
    print_tables(results, args)
    saved = save_result("time_to_quality", args, results, path=args.results,
                        settings={k: v for k, v in vars(args).items()
                                  if k in ("sizes", "recipes", "minutes", "objectives", "eval_every", "max_len",
                                           "epochs", "lr", "sst2_train", "device")})
    if saved is not None and not args.quick:
        plot(last_result(saved), PLOT)


if __name__ == "__main__":
    main()
