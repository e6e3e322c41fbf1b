"""`finetune` and `predict`: fine-tune a pretraining run (or a preset from scratch) on labelled data, and use it.

Ctrl-C stops a fine-tuning run cleanly with a checkpoint (status `stopped`), as `train` does;
`finetune --resume RUN` (or `resume RUN`) continues it from there. `--nproc N` trains on N processes through
torchrun, as `train` does (workbench.cli.launch).
"""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.control import StopRequest, stop_on_signals
from workbench.cli.launch import (
    RESUME_DEVICE,
    add_launch_args,
    follow,
    joined_world,
    launch,
    launch_config,
    signal_grace,
    wants_launch,
)
from workbench.cli.output import fmt, print_json, stderr
from workbench.cli.settings_args import add_settings, given, settings_from_args
from workbench.core.distributed import Single, check_launch
from workbench.core.finetune.trainer import EpochEvent, FinetuneResult
from workbench.jobs.errors import UserError
from workbench.jobs.finetune import FinetuneSpec, predict, resume_finetuning, start_finetuning
from workbench.jobs.finetune_scores import run_score_lines
from workbench.jobs.pretrain import get_run
from workbench.settings.finetune import FinetuneConfig
from workbench.settings.model import PRESETS
from workbench.store.records import RunRecord


def register(commands: argparse._SubParsersAction) -> None:
    ft = commands.add_parser("finetune", help="fine-tune on labelled data: classify, tag (CoNLL) or qa (SQuAD)")
    ft.add_argument("--resume", metavar="RUN", help="continue a stopped or interrupted fine-tuning run (no other "
                    "options needed)")
    ft.add_argument("--train", metavar="FILE", help="csv/tsv/jsonl (classify), CoNLL (tag), SQuAD json; "
                    "required unless --resume")
    ft.add_argument("--validation", metavar="FILE", help="chooses the best epoch; default: a seeded 10%% split of "
                    "--train")
    ft.add_argument("--test", metavar="FILE", help="held-out data scored once after training, with the epoch "
                    "--validation chose (default: none, and the validation score is the only one)")
    ft.add_argument("--text-column", help="classify: text column (default: 'text', else the one non-label column)")
    ft.add_argument("--text-pair-column", help="classify: second text of a pair")
    ft.add_argument("--label-column", default="label", help="classify: label column (default: label)")
    source = ft.add_mutually_exclusive_group()
    source.add_argument("--from", dest="from_run", metavar="RUN[:STEP]",
                        help="pretraining run (and checkpoint step; default: its latest)")
    source.add_argument("--scratch", choices=tuple(PRESETS), metavar="PRESET",
                        help="baseline: the same model with random weights")
    source.add_argument("--scratch-like", metavar="RUN[:STEP]",
                        help="baseline: this pretraining run's architecture and tokenizer with random weights")
    ft.add_argument("--tokenizer", type=int, metavar="ID", help="with --scratch: tokenizer id (default: the newest)")
    add_settings(ft, FinetuneConfig)
    ft.add_argument("--name", help="run name (default: run-N)")
    add_launch_args(ft)
    add_json_flag(ft)
    ft.set_defaults(handler=cmd_finetune)

    pr = commands.add_parser("predict", help="run a fine-tuned model on a text")
    pr.add_argument("run", metavar="RUN", help="fine-tuning run id or name")
    pr.add_argument("text", metavar="TEXT", help="the text (qa: the question)")
    pr.add_argument("--pair", help="classify: the second text of a pair")
    pr.add_argument("--context", help="qa: the passage to answer from")
    add_json_flag(pr)
    pr.set_defaults(handler=cmd_predict)


def spec_from_args(args: argparse.Namespace) -> FinetuneSpec:
    return FinetuneSpec(
        train=args.train, validation=args.validation, test=args.test, text_column=args.text_column,
        text_pair_column=args.text_pair_column, label_column=args.label_column, from_run=args.from_run,
        scratch=args.scratch, scratch_like=args.scratch_like, tokenizer_id=args.tokenizer,
        config=settings_from_args(FinetuneConfig, args), name=args.name,
    )


def _print_epoch(event: object) -> None:
    if isinstance(event, EpochEvent):
        shown = "  ".join(f"{k} {fmt(v)}" for k, v in event.metrics.items() if not k.endswith("total"))
        stderr.print(f"epoch {event.epoch} (step {event.step}): train loss {fmt(event.train_loss)}  "
                     f"val loss {fmt(event.val_loss)}  {shown}{'  *best*' if event.is_best else ''}")


NO_SHARD = "--shard is for pretraining; fine-tuning gives each process a whole copy of the model"


def cmd_finetune(args: argparse.Namespace) -> int:
    if launch_config(args).shard:
        raise UserError(NO_SHARD)
    if args.resume is not None:
        return cmd_resume_finetune(args)
    source = args.from_run or args.scratch or args.scratch_like
    task = given(args, FinetuneConfig, "task")  # required here, though the setting has a default for other callers
    missing = [flag for flag, value in (("--task", task), ("--train", args.train),
                                        ("--from RUN or --scratch PRESET", source)) if not value]
    if missing:
        raise UserError(f"finetune needs {', '.join(missing)} (or --resume RUN to continue a run)")
    spec = spec_from_args(args)
    if wants_launch(args):
        check_launch(spec.config.device, launch_config(args).nproc, spec.config.batch_size)
        return launch(args.argv, launch_config(args).nproc, args.home)
    with joined_world(spec.config.device, launch_config(args)) as world:
        if not world.is_writer:
            return follow(world)
        with open_workspace(args) as ws, stop_on_signals(signal_grace(world)) as stop:
            run, result = start_finetuning(ws, spec, listeners=[_print_epoch], control=stop.control, world=world)
        return _report(run, result, args.json, stop)


def cmd_resume_finetune(args: argparse.Namespace) -> int:
    """`finetune --resume RUN` and `resume RUN` of a fine-tuning run (this process alone, or launching N)."""
    if wants_launch(args):
        with open_workspace(args) as ws:
            run = get_run(ws, _run_ref(args))
        check_launch(RESUME_DEVICE, launch_config(args).nproc, run.config["finetune"]["batch_size"])
        return launch(args.argv, launch_config(args).nproc, args.home)
    with joined_world(RESUME_DEVICE, launch_config(args)) as world:
        if not world.is_writer:
            return follow(world)
        return resume_finetune_as(args, world)


def resume_finetune_as(args: argparse.Namespace, world: Single) -> int:
    """Resume a fine-tuning run in this process, rank 0 of `world` (under torchrun) or alone."""
    if getattr(args, "steps", None) is not None:
        raise UserError("--steps extends pretraining runs; a fine-tuning run resumes to its own number of epochs")
    if world.sharded:
        raise UserError(NO_SHARD)
    with open_workspace(args) as ws, stop_on_signals(signal_grace(world)) as stop:
        run, result = resume_finetuning(ws, _run_ref(args), listeners=[_print_epoch], control=stop.control,
                                        world=world)
    return _report(run, result, args.json, stop)


def _run_ref(args: argparse.Namespace) -> str:
    return getattr(args, "resume", None) or args.run  # `finetune --resume RUN` or `resume RUN`


def _report(run: RunRecord, result: FinetuneResult, as_json: bool, stop: StopRequest) -> int:
    summary = {
        "run_id": run.id, "name": run.name, "status": result.status, "epochs": result.epochs, "steps": result.steps,
        "best_epoch": result.best_epoch, "best_metrics": result.best_metrics,
        # The score that chose the epoch and the one that did not, each with the trivial baseline's on its data.
        "validation": {"chose_the_epoch": True, "metrics": result.best_metrics,
                       "baseline": result.baselines.get("validation")},
        "test": {"metrics": result.test_metrics, "baseline": result.baselines.get("test")}
        if run.config["data"].get("test") else None,
        "warnings": result.warnings, "max_len": run.config["finetune"]["max_len"], "parent_run_id": run.parent_run_id,
        "best_checkpoint": str(result.best_checkpoint) if result.best_checkpoint else None, "message": result.message,
    }
    if as_json:
        print_json(summary)
    else:
        stderr.print(f"run {run.id} ({run.name}): {result.status} after {result.epochs} epoch(s), best epoch "
                     f"{result.best_epoch}" + (f" ({result.message})" if result.message else ""))
        for line in run_score_lines(run.config):
            stderr.print(f"  {line}")
    return stop.exit_code(result.status in ("completed", "stopped"))


def cmd_predict(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        output = predict(ws, args.run, args.text, text_pair=args.pair, context=args.context)
    if args.json:
        print_json(output)
    elif output["task"] == "classify":
        print(output["label"], fmt(output["probabilities"][output["label"]]))
    elif output["task"] == "tag":
        print(" ".join(f"{w}/{t}" for w, t in zip(output["tokens"], output["tags"])))
    else:
        print(output["answer"])
    return 0
