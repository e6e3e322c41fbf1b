"""Fine-tuning learning rate against model size (issue 15, item 15): which default lets a small model learn.

Pretrains `tiny` on the shared WikiText-2 text for `--pretrain-steps`, then fine-tunes it on a seeded sample of
SST-2 (`--sst2-train` sentences, the automatic 10% validation split, the 872-sentence dev set as test) once per
learning rate in `--lrs`, every other setting at FinetuneConfig's defaults but the max length. Results: one
JSON line in bench/results/finetune_lr.jsonl; docs/finetuning.md quotes them.

    python bench/finetune_lr.py [--pretrain-steps 400] [--lrs 3e-5 3e-4 1e-3] [--results PATH]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from common import bench_args, save_result  # noqa: E402
from finetune_real import SHARED, datasets, pretrain  # noqa: E402

from workbench.core.corpus import CorpusOptions  # noqa: E402
from workbench.jobs.corpora import add_corpus  # noqa: E402
from workbench.jobs.finetune import FinetuneSpec, start_finetuning  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402


def extra_args(parser) -> None:
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--pretrain-steps", type=int, default=400)
    parser.add_argument("--max-len", type=int, default=64, help="pretraining positions = fine-tuning max length")
    parser.add_argument("--lrs", type=float, nargs="+", default=[3e-5, 3e-4, 1e-3])
    parser.add_argument("--sst2-train", type=int, default=4000)
    parser.add_argument("--results", type=Path, help="JSON-lines file (default: bench/results/finetune_lr.jsonl)")


def main() -> None:
    args = bench_args(__doc__.split("\n\n")[0], extra_args)
    if not (args.shared / "datasets").is_dir():
        raise SystemExit(f"{args.shared}/datasets is absent")
    home = Path(tempfile.mkdtemp(prefix="ft-lr-"))
    results: dict = {"runs": []}
    with Workspace(home) as ws:
        add_corpus(ws, [args.shared / "corpora/wikitext-2"], name="wikitext-2", options=CorpusOptions())
        files = datasets(args.shared, home, args.sst2_train, quick=False)["sst2"]
        parent = pretrain(ws, args, args.preset)
        results["pretraining"] = parent
        for lr in args.lrs:
            started = time.perf_counter()
            config = FinetuneConfig(lr=lr, max_len=args.max_len, device=args.device)
            run, result = start_finetuning(ws, FinetuneSpec(**files, config=config, from_run=parent["run"]))
            row = {"lr": lr, "validation": result.best_metrics["accuracy"], "test": result.test_metrics["accuracy"],
                   "baseline": result.baselines["test"]["accuracy"], "steps": result.steps,
                   "epochs": config.epochs, "batch_size": config.batch_size,
                   "seconds": round(time.perf_counter() - started, 1)}
            results["runs"].append(row)
            print(f"lr {lr:g}: test accuracy {row['test']:.3f} (majority {row['baseline']:.3f}), validation "
                  f"{row['validation']:.3f}, {row['steps']} steps in {row['seconds']:.0f} s", flush=True)
    save_result("finetune_lr", args, results, path=args.results,
                settings={k: v for k, v in vars(args).items() if k in ("preset", "pretrain_steps", "max_len", "lrs",
                                                                      "sst2_train", "device")})


if __name__ == "__main__":
    main()
