"""The per-layer fill-mask lens over a run's checkpoints: at which layer, and at which training step, an answer
appears. Each checkpoint is loaded outside the model cache (as suite evaluation over checkpoints is), so the
models the user is probing stay cached."""

from __future__ import annotations

from typing import Callable, Sequence

from workbench.core.probing.lens import LensResult, layer_lens
from workbench.jobs.errors import UserError
from workbench.jobs.pretrain import get_run
from workbench.jobs.probe import load_probe_model
from workbench.jobs.workspace import Workspace


def lens_over_checkpoints(
    ws: Workspace,
    run_ref: str | int,
    text: str,
    answers: Sequence[str] | None = None,
    top_k: int = 5,
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
    precision: str = "fp32",
) -> list[tuple[int, LensResult]]:
    """(step, lens) for every checkpoint of the run, oldest first; `progress(done, total)` after each. Every
    checkpoint follows the same answers: those given, else what the latest checkpoint predicts (the fact the
    trained model ends up with), so the table shows when that answer appears."""
    run = get_run(ws, run_ref)
    checkpoints = ws.store.checkpoints(run.id)
    if not checkpoints:
        raise UserError(f"run {run.name!r} has no checkpoint yet")
    if not answers:
        latest = load_probe_model(ws, run.id, checkpoints[-1].step, device, precision=precision)
        answers = [mask.answer for mask in layer_lens(latest.model, latest.tokenizer, text, 1).masks]
    results = []
    for done, checkpoint in enumerate(checkpoints, start=1):
        probe = load_probe_model(ws, run.id, checkpoint.step, device, cache=None, precision=precision)
        results.append((checkpoint.step, layer_lens(probe.model, probe.tokenizer, text, top_k, answers)))
        if progress is not None:
            progress(done, len(checkpoints))
    return results
