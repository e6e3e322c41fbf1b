"""`train` and `resume`: pretraining runs from the command line, with a progress bar; Ctrl-C, SIGTERM or SIGHUP
stop a run cleanly (workbench.cli.control). `--nproc N` trains on N processes through torchrun
(workbench.cli.launch)."""

from __future__ import annotations

import argparse
import textwrap
from typing import Callable

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.control import StopRequest, stop_on_signals
from workbench.cli.finetune_cmd import resume_finetune_as
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
from workbench.cli.masking_args import add_masking_args, masking_config_from_args
from workbench.cli.output import PreparationProgress, TrainingProgress, print_json, stderr
from workbench.cli.settings_args import add_settings, given, settings_from_args
from workbench.core.distributed import Single, check_launch, launched_by_torchrun
from workbench.core.training_types import TrainResult
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import check_start, get_run, resume_pretraining, start_pretraining
from workbench.jobs.supervised import EventLog, supervision
from workbench.jobs.throughput import scaling_summary
from workbench.jobs.workspace import Workspace
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.recipes import RECIPES, recipe_defaults
from workbench.settings.train import TrainConfig
from workbench.store.records import RunRecord


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="pretrain a masked language model (default: the bundled sample)",
                                epilog=_recipes_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    add_settings(train, PretrainSpec)
    add_settings(train, ModelSpec)
    add_masking_args(train)
    add_settings(train, TrainConfig)
    add_launch_args(train)
    add_json_flag(train)
    train.set_defaults(handler=cmd_train)

    resume = commands.add_parser("resume", help="continue a stopped or interrupted run from its last checkpoint")
    resume.add_argument("run", metavar="RUN", help="run id or name")
    resume.add_argument("--steps", type=int, help="new total number of steps (to train a finished run further)")
    add_launch_args(resume)
    add_json_flag(resume)
    resume.set_defaults(handler=cmd_resume)


def _recipes_epilog() -> str:
    """Each recipe with its paper and what it changes, under the flags of `train --help`."""
    lines = ["recipes (--recipe NAME; flags given as well override the recipe's values):"]
    for recipe in RECIPES.values():
        lines += textwrap.wrap(f"{recipe.name}: {recipe.citation}, {recipe.title}", 100, initial_indent="  ",
                               subsequent_indent="      ")
        lines += textwrap.wrap(recipe.changes, 100, initial_indent="      ", subsequent_indent="      ")
    return "\n".join(lines)


def spec_from_args(args: argparse.Namespace) -> PretrainSpec:
    """The run the flags describe: a recipe's values (--recipe) where no flag sets a field, the defaults where
    neither does; the masks take the run's seed (PretrainSpec)."""
    base = recipe_defaults(given(args, PretrainSpec, "recipe"))
    return settings_from_args(PretrainSpec, args, model=settings_from_args(ModelSpec, args, base["model"]),
                              masking=masking_config_from_args(args, base=base["masking"]),
                              train=settings_from_args(TrainConfig, args, base["train"]))


def cmd_train(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    return train_new_run(args, spec, lambda ws: check_start(ws, spec),
                         lambda ws, **kwargs: start_pretraining(ws, spec, **kwargs))


def train_new_run(args: argparse.Namespace, spec: PretrainSpec, check: Callable[[Workspace], object],
                  start: Callable[..., tuple[RunRecord, TrainResult]]) -> int:
    """Record and train a new run (`start(ws, listeners=, control=, progress=, world=)`), with a progress bar, on
    `--nproc` processes through torchrun when asked (`check(ws)` refuses what it can before they start)."""
    if wants_launch(args):
        check_launch(spec.train.device, launch_config(args).nproc, spec.train.batch_size)
        if spec.train.objective == "electra" and launch_config(args).shard:
            raise UserError("--shard is for masked and causal LM runs; --objective electra trains data-parallel: "
                            "leave out --shard")
        with open_workspace(args) as ws:
            check(ws)
        return launch(args.argv, launch_config(args).nproc, args.home)
    with joined_world(spec.train.device, launch_config(args)) as world:
        if not world.is_writer:
            return follow(world)
        with open_workspace(args) as ws, stop_on_signals(signal_grace(world)) as stop, \
                supervision(stop.control) as log:
            bar = _LazyTrainingProgress(spec.train.steps)
            preparation = PreparationProgress()
            try:
                run, result = start(ws, listeners=_listeners(bar, log), control=stop.control, progress=preparation,
                                    world=world)
            finally:
                preparation.close()
                bar.close()
            return _report(ws, run.id, result, args.json, stop, log)


def cmd_resume(args: argparse.Namespace) -> int:
    if launched_by_torchrun():  # a rank: only rank 0 may open the home (the others learn the run's kind from it)
        with joined_world(RESUME_DEVICE, launch_config(args)) as world:
            return _resume(args, world) if world.is_writer else follow(world)
    if wants_launch(args):
        with open_workspace(args) as ws:
            run = get_run(ws, args.run)
        settings = run.config["finetune" if run.kind == "finetune" else "train"]
        check_launch(RESUME_DEVICE, launch_config(args).nproc, settings["batch_size"])
        return launch(args.argv, launch_config(args).nproc, args.home)
    return _resume(args, Single())


def _resume(args: argparse.Namespace, world: Single) -> int:
    """Resume the run (pretraining, or fine-tuning when it is one) in this process: alone, or as rank 0."""
    with open_workspace(args) as ws:
        run = ws.store.get_run(args.run)
    if run is not None and run.kind == "finetune":
        return resume_finetune_as(args, world)
    with open_workspace(args) as ws, stop_on_signals(signal_grace(world)) as stop, supervision(stop.control) as log:
        bar = _LazyTrainingProgress(args.steps or 0)
        preparation = PreparationProgress()
        try:
            run, result = resume_pretraining(ws, args.run, args.steps, listeners=_listeners(bar, log),
                                             control=stop.control, progress=preparation, notify=_warn, world=world)
        finally:
            preparation.close()
            bar.close()
        return _report(ws, run.id, result, args.json, stop, log)


def _warn(line: str) -> None:
    stderr.print(f"[yellow]warning:[/] {line}")


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


def _listeners(bar: _LazyTrainingProgress, log: EventLog | None) -> list[Callable[[object], None]]:
    """The progress bar, and the event log of a window that supervises this run (`jobs.supervised`)."""
    return [bar] if log is None else [bar, log.write]


def _report(ws: Workspace, run_id: int, result: TrainResult, as_json: bool, stop: StopRequest,
            log: EventLog | None) -> int:
    if log is not None:
        log.finish(run_id, result)
    processes = scaling_summary(ws, ws.store.get_run(run_id))
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
        **{key: processes.get(key) for key in ("world_size", "backend", "rank_tokens_per_second",
                                               "one_process_tokens_per_second", "scaling_efficiency")},
    }
    if as_json:
        print_json(summary)
    else:
        stderr.print(f"run {run_id}: {result.status} at step {result.steps}"
                     + (f" ({result.message})" if result.message else ""))
        if result.world_size > 1:
            stderr.print(_scaling_line(summary))
    return stop.exit_code(result.status in ("completed", "stopped"))


def _scaling_line(summary: dict) -> str:
    total, efficiency = summary["tokens_per_second"], summary["scaling_efficiency"]
    speed = f"{total:,.0f} tokens/s in all" if total else "no speed measured"
    against = (f", {efficiency:.0%} of {summary['world_size']} x one process" if efficiency is not None
               else " (no one-process run of this shape to compare with)")
    return f"{summary['world_size']} processes ({summary['backend']}): {speed}{against}"
