"""`train` and `resume`: pretraining runs from the command line, with a progress bar and Ctrl-C to stop cleanly."""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.control import stop_on_ctrl_c
from workbench.cli.finetune_cmd import cmd_resume_finetune
from workbench.cli.masking_args import add_masking_args, masking_config_from_args
from workbench.cli.output import PreparationProgress, TrainingProgress, print_json, stderr
from workbench.core.model_config import PRESETS
from workbench.core.training_types import TrainConfig, TrainResult
from workbench.jobs.pretrain import PretrainSpec, resume_pretraining, start_pretraining

DEFAULT = TrainConfig()


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="pretrain a masked language model (default: the bundled sample)")
    data = train.add_argument_group("data")
    data.add_argument("--corpus", help="corpus name (default: the bundled sample corpus)")
    data.add_argument("--tokenizer", type=int, metavar="ID",
                      help="tokenizer id (default: the corpus' latest, else a new WordPiece)")
    data.add_argument("--val-fraction", type=float, default=0.02,
                      help="share of documents held out for validation (default: 0.02)")
    model = train.add_argument_group("model")
    model.add_argument("--preset", choices=tuple(PRESETS), default="tiny", help="model size (default: tiny)")
    model.add_argument("--layers", type=int, help="number of encoder layers (default: the preset's)")
    model.add_argument("--hidden", type=int, help="hidden size (default: the preset's)")
    model.add_argument("--heads", type=int, help="attention heads, must divide --hidden (default: the preset's)")
    model.add_argument("--ffn", type=int, help="feed-forward size (default: the preset's)")
    model.add_argument("--max-len", type=int, default=128, help="tokens per training sequence (default: 128)")
    model.add_argument("--pre-ln", action="store_true", help="LayerNorm before each block (steadier from scratch)")
    add_masking_args(train)
    opt = train.add_argument_group("training")
    opt.add_argument("--steps", type=int, default=DEFAULT.steps, help=f"optimizer steps (default: {DEFAULT.steps})")
    opt.add_argument("--batch-size", type=int, default=DEFAULT.batch_size, help=f"(default: {DEFAULT.batch_size})")
    opt.add_argument("--grad-accum", type=int, default=DEFAULT.grad_accum,
                     help=f"batches per optimizer step (default: {DEFAULT.grad_accum})")
    opt.add_argument("--lr", type=float, default=DEFAULT.lr, help=f"peak learning rate (default: {DEFAULT.lr})")
    opt.add_argument("--warmup", type=int, default=DEFAULT.warmup_steps,
                     help=f"linear warm-up steps (default: {DEFAULT.warmup_steps})")
    opt.add_argument("--schedule", choices=("linear", "cosine", "constant"), default=DEFAULT.schedule,
                     help=f"decay after warm-up (default: {DEFAULT.schedule})")
    opt.add_argument("--weight-decay", type=float, default=DEFAULT.weight_decay,
                     help=f"AdamW decoupled weight decay (default: {DEFAULT.weight_decay})")
    opt.add_argument("--grad-clip", type=float, default=DEFAULT.grad_clip,
                     help=f"gradient norm clip (default: {DEFAULT.grad_clip})")
    opt.add_argument("--eval-every", type=int, default=DEFAULT.eval_every,
                     help=f"steps between validations (default: {DEFAULT.eval_every})")
    opt.add_argument("--checkpoint-every", type=int, default=DEFAULT.checkpoint_every,
                     help=f"steps between checkpoints (default: {DEFAULT.checkpoint_every})")
    opt.add_argument("--log-every", type=int, default=DEFAULT.log_every,
                     help=f"steps between recorded training-loss points (default: {DEFAULT.log_every})")
    opt.add_argument("--device", default=DEFAULT.device, help="auto, cpu, cuda, cuda:N or mps (default: auto)")
    opt.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default=DEFAULT.precision,
                     help="fp32, bf16 autocast, or fp16 with a grad scaler on CUDA (default: fp32)")
    opt.add_argument("--seed", type=int, default=DEFAULT.seed, help=f"(default: {DEFAULT.seed})")
    train.add_argument("--name", help="run name (default: run-N)")
    add_json_flag(train)
    train.set_defaults(handler=cmd_train)

    resume = commands.add_parser("resume", help="continue a stopped or interrupted run from its last checkpoint")
    resume.add_argument("run", metavar="RUN", help="run id or name")
    resume.add_argument("--steps", type=int, help="new total number of steps (to train a finished run further)")
    add_json_flag(resume)
    resume.set_defaults(handler=cmd_resume)


def spec_from_args(args: argparse.Namespace) -> PretrainSpec:
    train = TrainConfig(
        steps=args.steps, batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
        warmup_steps=args.warmup, schedule=args.schedule, weight_decay=args.weight_decay, grad_clip=args.grad_clip,
        eval_every=args.eval_every, log_every=args.log_every, checkpoint_every=args.checkpoint_every, device=args.device,
        precision=args.precision, seed=args.seed,
    )
    return PretrainSpec(
        corpus=args.corpus,
        tokenizer_id=args.tokenizer,
        preset=args.preset,
        architecture={"layers": args.layers, "hidden": args.hidden, "heads": args.heads, "ffn": args.ffn},
        max_len=args.max_len,
        pre_layer_norm=args.pre_ln,
        masking=masking_config_from_args(args, seed=args.seed),
        train=train,
        val_fraction=args.val_fraction,
        name=args.name,
    )


def cmd_train(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    with open_workspace(args) as ws, stop_on_ctrl_c() as control:
        bar = _LazyTrainingProgress(spec.train.steps)
        preparation = PreparationProgress()
        try:
            run, result = start_pretraining(ws, spec, listeners=[bar], control=control, progress=preparation)
        finally:
            preparation.close()
            bar.close()
    return _report(run.id, result, args.json)


def cmd_resume(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        run = ws.store.get_run(args.run)
    if run is not None and run.kind == "finetune":
        return cmd_resume_finetune(args)
    with open_workspace(args) as ws, stop_on_ctrl_c() as control:
        bar = _LazyTrainingProgress(args.steps or 0)
        preparation = PreparationProgress()
        try:
            run, result = resume_pretraining(ws, args.run, args.steps, listeners=[bar], control=control,
                                             progress=preparation)
        finally:
            preparation.close()
            bar.close()
    return _report(run.id, result, args.json)


class _LazyTrainingProgress:
    """Starts the bar at the first training event, so preparation output is not drawn under it."""

    def __init__(self, total_steps: int) -> None:
        self.total_steps = total_steps
        self.bar: TrainingProgress | None = None

    def __call__(self, event: object) -> None:
        if self.bar is None:
            self.bar = TrainingProgress(self.total_steps)
        self.bar(event)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _report(run_id: int, result: TrainResult, as_json: bool) -> int:
    summary = {
        "run_id": run_id,
        "status": result.status,
        "steps": result.steps,
        "train_loss": result.train_loss,
        "val_loss": result.val_loss,
        "val_accuracy": result.val_accuracy,
        "val_perplexity": result.val_perplexity,
        "unigram_baseline_loss": result.unigram_baseline_loss,
        "tokens_per_second": result.tokens_per_second,
        "last_checkpoint": str(result.last_checkpoint) if result.last_checkpoint else None,
        "message": result.message,
    }
    if as_json:
        print_json(summary)
    else:
        stderr.print(f"run {run_id}: {result.status} at step {result.steps}"
                     + (f" ({result.message})" if result.message else ""))
    return 0 if result.status in ("completed", "stopped") else 1
