"""`distill --teacher RUN`: train a smaller student on a teacher run's soft predictions (a run of kind `distill`),
with every pretraining flag; the student takes the teacher's tokenizer, and its corpus, validation share and
`--max-len` unless given. `resume` continues it like any pretraining run."""

from __future__ import annotations

import argparse

from workbench.cli.launch import add_launch_args
from workbench.cli.common import add_json_flag
from workbench.cli.masking_args import add_masking_args
from workbench.cli.settings_args import add_settings, given, settings_from_args
from workbench.cli.train_cmd import spec_from_args, train_new_run
from workbench.jobs.distill import find_teacher, start_distillation
from workbench.settings.distill import DistillConfig
from workbench.settings.model import ModelSpec
from workbench.settings.pretrain import PretrainSpec
from workbench.settings.train import TrainConfig

# the data settings a student takes from its teacher unless the command line gives them
TEACHERS_DEFAULTS = ((PretrainSpec, "corpus"), (PretrainSpec, "val_fraction"), (ModelSpec, "max_position_embeddings"))


def register(commands: argparse._SubParsersAction) -> None:
    distill = commands.add_parser("distill", help="train a smaller student on a teacher run's predictions "
                                                  "(knowledge distillation)")
    distill.add_argument("--teacher", required=True, metavar="RUN",
                         help="the teacher: a pretraining, distillation or imported run (RUN:STEP for one checkpoint; "
                              "default its latest)")
    add_settings(distill, DistillConfig)
    add_settings(distill, PretrainSpec)
    add_settings(distill, ModelSpec)
    add_masking_args(distill)
    add_settings(distill, TrainConfig)
    add_launch_args(distill)
    add_json_flag(distill)
    distill.set_defaults(handler=cmd_distill)


def cmd_distill(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    settings = settings_from_args(DistillConfig, args)
    chosen = {name for cls, name in TEACHERS_DEFAULTS if given(args, cls, name) is not None}
    return train_new_run(args, spec, lambda ws: find_teacher(ws, args.teacher),
                         lambda ws, **kwargs: start_distillation(ws, args.teacher, spec, settings, chosen, **kwargs))
