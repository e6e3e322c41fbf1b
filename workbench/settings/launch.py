"""How many processes train one run, how long they wait for each other, whether they share out the model,
and the window's training threads: `LaunchConfig` (the CLI's `--nproc`, `--dist-timeout` and `--shard`; the
Train panel's "Processes" and "CPU threads"). Not part of a run's settings: a run trained on 4 processes
resumes on 1, and the run row records the world it ran with."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.settings.base import Settings, setting

DEFAULT_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class LaunchConfig(Settings):
    section = "processes"

    nproc: int = setting(1, "Train on this many processes at once, started by PyTorch's torchrun on this machine: "
                         "data-parallel, one per GPU or on the CPU's cores; the batch is split between them.",
                         "Processes", low=1, high=1024, metavar="N", advanced=True)
    dist_timeout: float = setting(DEFAULT_TIMEOUT_S, "How long, in seconds, a process waits for the others in one "
                                  "exchange before the run ends interrupted (a process died or hangs).",
                                  "Process timeout (s)", low=1.0, high=86400.0, metavar="SECONDS", decimals=0,
                                  advanced=True)
    shard: bool = setting(False, "Split the model's weights, gradients and optimizer state over the processes "
                          "(PyTorch's FSDP2) instead of giving each a whole copy: for models too big for one "
                          "device; pretraining only.", "Shard the model", advanced=True)
    threads: int | None = setting(None, "How many CPU threads the window's training process uses (a run on the "
                                  "CPU). One core is left to the window by default, so the curves stay smooth; the "
                                  "command line uses every core.", "CPU threads", low=1, high=1024,
                                  none="all cores but one", on_cli=False,
                                  window_only=True, advanced=True)
