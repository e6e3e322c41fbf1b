"""What pretraining buys on the bundled demo tasks: fine-tune from a pretrained `tiny` versus from scratch.

Pretrains `tiny` on the bundled sample corpus (long enough to leave the from-scratch plateau, see
docs/architecture.md), then fine-tunes it on the demo statement classification set and the demo entity
tagging set, and fine-tunes the same architecture from random weights with identical settings and the same
number of steps, for several seeds. Prints the validation metric (accuracy, entity F1) of each and their
means. The pretraining run is kept in `--home` and reused by the next call with the same settings, so the
fine-tuning part can be repeated quickly. Single-threaded by default (`--threads`), as docs/architecture.md
measures. Example: `OMP_NUM_THREADS=1 python bench/finetune_demo.py --home /tmp/ft-demo`.
The realistic check on the shared datasets (SST-2, WNUT-17, SQuAD; test-set scores) is bench/finetune_real.py.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/finetune_demo.py` from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from workbench.core.training_types import EvalEvent  # noqa: E402
from workbench.jobs.finetune import FinetuneSpec, start_finetuning  # noqa: E402
from workbench.jobs.pretrain import start_pretraining  # noqa: E402
from workbench.jobs.workspace import Workspace  # noqa: E402
from workbench.samples.tasks import demo_paths  # noqa: E402
from workbench.settings.finetune import FinetuneConfig  # noqa: E402
from workbench.settings.model import ModelSpec  # noqa: E402
from workbench.settings.pretrain import PretrainSpec  # noqa: E402
from workbench.settings.train import TrainConfig  # noqa: E402

METRIC = {"classify": "accuracy", "tag": "f1"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="workspace to keep the pretraining run in (default: a temp dir)")
    parser.add_argument("--pretrain-steps", type=int, default=3000)
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
    parser.add_argument("--max-len", type=int, default=32, help="pretraining block length = positions")
    parser.add_argument("--lr", type=float, default=3e-4, help="fine-tuning learning rate (both arms)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tasks", nargs="+", default=["classify", "tag"], choices=tuple(METRIC))
    parser.add_argument("--threads", type=int, default=1)
    return parser.parse_args(argv)


def pretrained_run(ws: Workspace, args: argparse.Namespace, corpus: str | None = None) -> str:
    """The name of a completed pretraining run with these settings, trained now unless already there."""
    name = f"{corpus or 'demo'}-tiny-{args.pretrain_steps}-{args.pretrain_lr:g}-{args.max_len}"
    existing = ws.store.get_run(name)
    if existing is not None and existing.status == "completed":
        print(f"reusing pretraining run {name!r}")
        return name
    train = TrainConfig(steps=args.pretrain_steps, batch_size=32, lr=args.pretrain_lr, warmup_steps=200,
                        eval_every=500, checkpoint_every=0, device="cpu", seed=0)
    started = time.perf_counter()

    def show(event: object) -> None:
        if isinstance(event, EvalEvent):
            print(f"  pretrain step {event.step:5d}: val loss {event.val_loss:.3f} (unigram "
                  f"{event.unigram_baseline_loss:.3f}), {time.perf_counter() - started:.0f} s", flush=True)

    spec = PretrainSpec(corpus=corpus, model=ModelSpec(preset="tiny", max_position_embeddings=args.max_len),
                        train=train, name=name)
    run, result = start_pretraining(ws, spec, listeners=[show])
    if result.status != "completed":
        raise SystemExit(f"pretraining {result.status}: {result.message}")
    print(f"pretrained {name!r}: {result.steps} steps in {time.perf_counter() - started:.0f} s, "
          f"val loss {result.val_loss:.3f}, masked-token accuracy {result.val_accuracy:.3f}")
    return name


def finetune(ws: Workspace, args: argparse.Namespace, task: str, seed: int, source: dict) -> tuple[float, int]:
    """(best validation metric, steps) of one fine-tuning run on the demo set of `task`."""
    train, validation = demo_paths(task)
    config = FinetuneConfig(task=task, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size,
                            max_len=args.max_len, seed=seed, device="cpu")
    spec = FinetuneSpec(train=str(train), validation=str(validation), config=config, **source)
    run, result = start_finetuning(ws, spec)
    if result.status != "completed":
        raise SystemExit(f"fine-tuning run {run.id} {result.status}: {result.message}")
    return result.best_metrics[METRIC[task]], result.steps


def summary(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def compare(ws: Workspace, args: argparse.Namespace, task: str, parent: str) -> list[tuple]:
    """Fine-tune from `parent` and from scratch with its architecture and tokenizer, for every seed."""
    rows = []
    for arm, source in (("pretrained", {"from_run": parent}), ("scratch", {"scratch_like": parent})):
        started = time.perf_counter()
        scores = [finetune(ws, args, task, seed, source) for seed in args.seeds]
        rows.append((task, arm, [s for s, _ in scores], scores[0][1], time.perf_counter() - started))
        print(f"  {task} {arm}: {[round(s, 3) for s, _ in scores]}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    home = args.home or Path(tempfile.mkdtemp(prefix="ft-demo-"))
    home.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with Workspace(home) as ws:
        parent = pretrained_run(ws, args)
        rows = [row for task in args.tasks for row in compare(ws, args, task, parent)]
    corpus = "the sample corpus"
    print(f"\nbest validation metric over {args.epochs} epochs (lr {args.lr:g}, batch {args.batch_size}), "
          f"seeds {args.seeds}; pretraining: tiny, {args.pretrain_steps} steps on {corpus}; "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"{'task':<9} {'metric':<9} {'start':<11} {'steps':>5}  {'mean ± sd':<14} per seed")
    for task, arm, scores, steps, _ in rows:
        print(f"{task:<9} {METRIC[task]:<9} {arm:<11} {steps:>5}  {summary(scores):<14} "
              + " ".join(f"{s:.3f}" for s in scores))


if __name__ == "__main__":
    main()
