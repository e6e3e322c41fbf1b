"""Fine-tuning on real data (issue 20, item 7): where pretraining here helps, and where it does not yet.

Pretrains `tiny` and `mini` on the shared WikiText-2 text (valid + test splits, the default WordPiece tokenizer
for that corpus) for `--pretrain-steps`, then fine-tunes each of them, and the same architecture from random
weights (the preset with the same tokenizer, identical settings and steps), for every seed, on three shared
datasets:
- SST-2: a seeded sample of `--sst2-train` (4,000) training sentences; validation: the automatic 10% split
  (duplicates kept on one side); test: the 872-sentence dev set.
- WNUT-17: the training file (validation: the automatic split); test: the dev file.
- the SQuAD 2.0 sample, split by article: the first three articles train, the fourth validates, the fifth tests.
Every score is the test set's, with the chosen epoch, next to the trivial baseline on the same test data. Results:
one JSON line in bench/results/finetune_real.jsonl (or `--results`), and the table docs/finetuning.md quotes.
`--arms scratch` runs only the from-scratch arm, which needs no pretraining, so a missing row can be filled without
redoing the pretrained one.

    python bench/finetune_real.py [--device auto] [--quick] [--results PATH] [--arms pretrained scratch]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/finetune_real.py` from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

from common import bench_args, save_result  # noqa: E402

from workbench.core.corpus import CorpusOptions  # noqa: E402
from workbench.jobs.corpora import add_corpus  # noqa: E402
from workbench.jobs.finetune import FinetuneSpec, start_finetuning  # noqa: E402
from workbench.jobs.pretrain import start_pretraining  # noqa: E402
from workbench.jobs.tokenizers import tokenizer_for_run  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402
from workbench.settings.model import ModelSpec  # noqa: E402
from workbench.settings.pretrain import PretrainSpec  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402

SHARED = ROOT.parent / "shared"
TASKS = {"sst2": ("classify", "accuracy"), "wnut17": ("tag", "f1"), "squad": ("qa", "f1")}
ARMS = ("pretrained", "scratch")


def extra_args(parser) -> None:
    parser.add_argument("--home", type=Path, help="workspace (default: a temp dir)")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the shared data folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--models", nargs="+", default=["tiny", "mini"])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=tuple(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=ARMS,
                        help="which arms to run (default: both); scratch alone skips pretraining")
    parser.add_argument("--pretrain-steps", type=int, default=3000)
    parser.add_argument("--max-len", type=int, default=128, help="pretraining positions = fine-tuning max length")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4, help="fine-tuning learning rate (every arm)")
    parser.add_argument("--sst2-train", type=int, default=4000)
    parser.add_argument("--results", type=Path, help="JSON-lines file (default: bench/results/finetune_real.jsonl)")


def squad_by_article(source: Path, folder: Path) -> dict[str, str]:
    """train / validation / test files of the SQuAD sample: articles 1-3, 4 and 5 (in file order)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    articles = data["data"]
    parts = {"train": articles[:3], "validation": articles[3:4], "test": articles[4:5]}
    paths = {}
    for part, chosen in parts.items():
        paths[part] = str(folder / f"squad-{part}.json")
        Path(paths[part]).write_text(json.dumps({**data, "data": chosen}), encoding="utf-8")
    return paths


def datasets(shared: Path, folder: Path, sst2_train: int, quick: bool) -> dict[str, dict[str, str | None]]:
    """Each task's train / validation (None: the automatic split) / test files."""
    lines = (shared / "datasets/sst2/train.tsv").read_text(encoding="utf-8").splitlines()
    sample = random.Random(0).sample(lines[1:], 400 if quick else sst2_train)
    (folder / "sst2-train.tsv").write_text("\n".join([lines[0], *sample]) + "\n", encoding="utf-8")
    wnut = shared / "datasets/wnut17/train.conll"
    if quick:  # the first 300 sentences
        (folder / "wnut-train.conll").write_text("\n\n".join(wnut.read_text(encoding="utf-8").split("\n\n")[:300]),
                                                 encoding="utf-8")
        wnut = folder / "wnut-train.conll"
    return {"sst2": {"train": str(folder / "sst2-train.tsv"), "validation": None,
                     "test": str(shared / "datasets/sst2/dev.tsv")},
            "wnut17": {"train": str(wnut), "validation": None, "test": str(shared / "datasets/wnut17/dev.conll")},
            "squad": squad_by_article(shared / "datasets/squad/dev-sample.json", folder)}


def pretrain(ws: Workspace, args, preset: str) -> dict:
    train = TrainConfig(steps=args.pretrain_steps, batch_size=64, lr=1e-3,
                        warmup_steps=min(300, args.pretrain_steps // 10), eval_every=max(1, args.pretrain_steps // 5),
                        checkpoint_every=0, device=args.device, seed=0,
                        precision="bf16" if args.device.startswith("cuda") else "fp32")
    spec = PretrainSpec(corpus="wikitext-2", model=ModelSpec(preset=preset, max_position_embeddings=args.max_len),
                        train=train, name=f"{preset}-wikitext")
    started = time.perf_counter()
    run, result = start_pretraining(ws, spec)
    if result.status != "completed":
        raise SystemExit(f"pretraining {preset}: {result.status} {result.message}")
    seconds = time.perf_counter() - started
    print(f"pretrained {preset}: {result.steps} steps in {seconds:.0f} s on {run.device}, val loss "
          f"{result.val_loss:.3f}, masked-token accuracy {result.val_accuracy:.3f}", flush=True)
    return {"run": run.name, "steps": result.steps, "seconds": round(seconds, 1), "device": run.device,
            "val_loss": result.val_loss, "val_accuracy": result.val_accuracy}


def finetune(ws: Workspace, args, task: str, files: dict, source: dict, seed: int) -> dict:
    kind, metric = TASKS[task]
    config = FinetuneConfig(task=kind, lr=args.lr, epochs=1 if args.quick else args.epochs, batch_size=32,
                            max_len=args.max_len, seed=seed, device=args.device)
    run, result = start_finetuning(ws, FinetuneSpec(**files, config=config, **source))
    if result.status != "completed":
        raise SystemExit(f"fine-tuning {task} {source}: {result.status} {result.message}")
    test, floor = result.test_metrics, result.baselines["test"]
    return {"validation": result.best_metrics[metric], "test": test[metric], "baseline": floor[metric],
            "best_epoch": result.best_epoch, "steps": result.steps,
            **({"HasAns_f1": test.get("HasAns_f1"), "NoAns_f1": test.get("NoAns_f1"),
                "null_threshold": result.best_metrics.get("null_threshold")} if kind == "qa" else {})}


def mean_sd(values: list[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values) if len(values) > 1 else 0.0:.3f}"


def main() -> None:
    args = bench_args(__doc__.split("\n\n")[0], extra_args)
    if not (args.shared / "datasets").is_dir():
        raise SystemExit(f"{args.shared}/datasets is absent")
    if args.quick:
        args.pretrain_steps, args.seeds, args.models = 60, args.seeds[:2], args.models[:1]
    home = args.home or Path(tempfile.mkdtemp(prefix="ft-real-"))
    started = time.perf_counter()
    results: dict = {"pretraining": {}, "runs": []}
    with Workspace(home) as ws:
        corpus, _ = add_corpus(ws, [args.shared / "corpora/wikitext-2"], name="wikitext-2", options=CorpusOptions())
        tokenizer = tokenizer_for_run(ws, corpus, None)  # the one pretraining then uses: the corpus' default
        files = datasets(args.shared, home, args.sst2_train, args.quick)
        for preset in args.models:
            sources = {"scratch": {"scratch": preset, "tokenizer_id": tokenizer.id}}
            if "pretrained" in args.arms:
                parent = pretrain(ws, args, preset)
                results["pretraining"][preset] = parent
                sources["pretrained"] = {"from_run": parent["run"]}
            for task in args.tasks:
                for arm in (arm for arm in ARMS if arm in args.arms):
                    for seed in args.seeds:
                        row = {"model": preset, "task": task, "arm": arm, "seed": seed,
                               **finetune(ws, args, task, files[task], sources[arm], seed)}
                        results["runs"].append(row)
                        print(f"  {preset} {task} {arm} seed {seed}: test {row['test']:.3f} (baseline "
                              f"{row['baseline']:.3f}), validation {row['validation']:.3f}", flush=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    print(f"\ntest-set scores, mean ± sd over seeds {args.seeds}; {results['seconds']:.0f} s in all")
    print("| model | task (metric) | pretrained on WikiText-2 | from scratch | trivial baseline |")
    print("| --- | --- | --- | --- | --- |")
    for preset in args.models:
        for task in args.tasks:
            rows = {arm: [r for r in results["runs"] if (r["model"], r["task"], r["arm"]) == (preset, task, arm)]
                    for arm in ARMS}
            cells = [mean_sd([r["test"] for r in rows[arm]]) if rows[arm] else "not run" for arm in ARMS]
            baseline = next(r["baseline"] for arm in ARMS for r in rows[arm])
            print(f"| {preset} | {task} ({TASKS[task][1]}) | {' | '.join(cells)} | {baseline:.3f} |")
    save_result("finetune_real", args, results, path=args.results,
                settings={k: v for k, v in vars(args).items() if k in ("pretrain_steps", "max_len", "epochs", "lr",
                                                                      "sst2_train", "device", "seeds", "models",
                                                                      "arms", "tasks")})


if __name__ == "__main__":
    main()
