"""`--nproc N`: the same command on N processes through PyTorch's own launcher, and what each process does there.

`train … --nproc N` (and `resume … --nproc N`) check the request, then start
`python -m torch.distributed.run --standalone --nproc-per-node N -m workbench <the same arguments>` as a child
(torchrun's module form: no script on PATH needed) and return its exit code. The child runs in a session of its
own so that a Ctrl-C at the terminal reaches it once, forwarded from here: torchrun passes it on to every rank,
which stop together at the next step with a checkpoint. `--standalone` rendezvouses on localhost.

Inside torchrun (started by `--nproc` or by a cluster's own `torchrun --nnodes M …`), `joined_world` joins the
process group; rank 0 runs the command as one process would, the other ranks `follow`.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

from workbench.cli.control import STOP_SIGNALS, stop_on_signals
from workbench.cli.settings_args import add_settings, given, settings_from_args
from workbench.core.distributed import Single, join_world, launched_by_torchrun, leave_world
from workbench.jobs.errors import UserError
from workbench.jobs.finetune import follow_finetuning
from workbench.jobs.parent_watch import LAUNCHER_PID_ENV
from workbench.jobs.pretrain import follow_pretraining
from workbench.paths import HOME_ENV, resolve_home
from workbench.settings.launch import LaunchConfig

# The ranks of a resumed run choose their device before any of them may read the run (only rank 0 opens the home):
# the GPUs when there are any, else the CPU. One process resumes on the run's own device.
RESUME_DEVICE = "auto"
# A second stop signal this soon after the first is the same stop delivered twice (see stop_on_signals).
RANK_SIGNAL_GRACE_S = 5.0
STOP_TIMEOUT_S = 600  # for the ranks to finish a step and save a checkpoint after a stop signal


def signal_grace(world: Single) -> float:
    return RANK_SIGNAL_GRACE_S if world.world_size > 1 else 0.0


def add_launch_args(parser: argparse.ArgumentParser) -> None:
    """--nproc and --dist-timeout (`LaunchConfig`); --batch-size stays the global batch, split evenly."""
    add_settings(parser, LaunchConfig)


def launch_config(args: argparse.Namespace) -> LaunchConfig:
    return settings_from_args(LaunchConfig, args)


def wants_launch(args: argparse.Namespace) -> bool:
    """--nproc given to a process torchrun did not start: this one launches it."""
    return given(args, LaunchConfig, "nproc") is not None and not launched_by_torchrun()


def torchrun_command(argv: list[str], nproc: int) -> list[str]:
    """The command line that runs `argv` on `nproc` processes. torchrun's own parser reads every option-like
    word, so `--nproc` (a prefix of two of its options) is left out, and so is `--home` (it goes in the
    environment), which keeps the command's name first after `-m workbench`."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
            *_shutdown_timeout(), "-m", "workbench", *_without(argv, ("--nproc", "--home"))]


def _shutdown_timeout() -> list[str]:
    """After a stop signal torchrun kills ranks still running 30 s later; a big model's final checkpoint may
    take longer. The option is newer than some supported torch versions: given only where torchrun has it."""
    from torch.distributed.run import get_args_parser

    options = {option for action in get_args_parser()._actions for option in action.option_strings}
    return [f"--shutdown-timeout={STOP_TIMEOUT_S}"] if "--shutdown-timeout" in options else []


def _without(argv: list[str], options: tuple[str, ...]) -> list[str]:
    kept, skip = [], False
    for word in argv:
        if skip:
            skip = False
        elif word in options:
            skip = True  # and its value
        elif not word.startswith(tuple(f"{option}=" for option in options)):
            kept.append(word)
    return kept


def launch(argv: list[str], nproc: int, home: str | None) -> int:
    """Run the command under torchrun; forward stop signals to it; its exit code (128 + a forwarded signal's)."""
    if getattr(sys, "frozen", False):  # the packaged app's executable is no Python that torchrun could run
        raise UserError(f"--nproc needs the workbench installed with pip (see the README); this packaged app "
                        f"trains in one process: leave out --nproc {nproc}")
    # The ranks watch this process: killed outright (no signal to forward), it leaves them to stop by themselves.
    env = {**os.environ, HOME_ENV: str(resolve_home(home)), LAUNCHER_PID_ENV: str(os.getpid())}
    child = subprocess.Popen(torchrun_command(argv, nproc), start_new_session=True, env=env)
    forwarded: list[int] = []

    def forward(signum: int, frame: object) -> None:
        forwarded.append(signum)
        child.send_signal(signum)

    previous = {signum: signal.signal(signum, forward) for signum in STOP_SIGNALS}
    try:
        code = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if forwarded:
        return 128 + forwarded[0]  # torchrun itself ends with a traceback after a signal; the ranks stopped cleanly
    return code if code >= 0 else 128 - code


@contextmanager
def joined_world(device_name: str, launch: LaunchConfig) -> Iterator[Single]:
    """This process's world: a rank of torchrun's process group (sharded with --shard), or `Single` outside
    torchrun."""
    if not launched_by_torchrun():
        if launch.shard:
            raise UserError("--shard splits the model over several processes: add --nproc N (N of 2 or more)")
        yield Single()
        return
    world = join_world(device_name, launch.dist_timeout, launch.shard)
    try:
        yield world
    finally:
        world.release_followers()
        leave_world()


def follow(world: Single) -> int:
    """A rank after the first: train from rank 0's plan (pretraining or fine-tuning, as it says), print nothing
    (rank 0 reports), exit as rank 0 does."""
    with stop_on_signals(signal_grace(world)) as stop:
        plan = world.share(None)
        if plan is None:
            return 1  # rank 0 ended before training and said why
        follow_plan = follow_finetuning if plan["kind"] == "finetune" else follow_pretraining
        result = follow_plan(plan, world, stop.control)
    return stop.exit_code(result.status in ("completed", "stopped"))
