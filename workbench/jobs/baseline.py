"""A fine-tune and its from-scratch baseline, one after the other: the two arms the Fine-tune panel draws.

The baseline is the fine-tune's scratch twin (`scratch_like` of the same pretraining run): same settings, data,
architecture and tokenizer, random weights, so the gap between the two curves is what pretraining buys.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from workbench.core.finetune.trainer import FinetuneResult
from workbench.core.training_types import TrainControl
from workbench.jobs.finetune import FinetuneSpec, resume_finetuning, start_finetuning
from workbench.jobs.workspace import Workspace


def baseline_spec(spec: FinetuneSpec) -> FinetuneSpec:
    """The scratch twin of a fine-tune from a pretraining run: same settings, data and architecture."""
    if spec.from_run is None:
        raise ValueError("a baseline needs a fine-tune from a pretraining run")
    return replace(spec, from_run=None, scratch=None, scratch_like=spec.from_run,
                   name=f"{spec.name} (scratch)" if spec.name else None)


Emit = Callable[[tuple[str, object]], None]


def run_with_baseline(ws: Workspace, spec: FinetuneSpec, with_baseline: bool, emit: Emit,
                      control: TrainControl) -> dict[str, tuple[int, FinetuneResult]]:
    """Fine-tune, then the baseline unless stopped; {arm: (run id, result)} of the arms that ran."""
    done = {}
    specs = [("finetune", spec)] + ([("baseline", baseline_spec(spec))] if with_baseline else [])
    for arm, arm_spec in specs:
        if control.stopped.is_set():
            break
        run, result = start_finetuning(ws, arm_spec, listeners=[lambda event, a=arm: emit((a, event))],
                                       control=control)
        done[arm] = (run.id, result)
        if result.status == "failed":  # a baseline of a failed fine-tune compares with nothing
            break
    return done


def resume_arm(ws: Workspace, run_id: int, emit: Emit, control: TrainControl) -> dict[str, tuple[int, FinetuneResult]]:
    """Resume one stopped fine-tuning run (drawn as the fine-tune arm)."""
    run, result = resume_finetuning(ws, run_id, listeners=[lambda event: emit(("finetune", event))], control=control)
    return {"finetune": (run.id, result)}
