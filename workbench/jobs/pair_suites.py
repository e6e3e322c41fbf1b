"""Minimal-pair suites as jobs: a suite file (by default the bundled sample_minimal_pairs.tsv) scored by PLL on one
checkpoint or on every checkpoint of a run, each result recorded in the store like a cloze suite's (under the
suite's version with the PLL method), so accuracy can be followed over training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from workbench.core.probing.minimal_pairs import PairSuiteResult, evaluate_pairs, load_pairs
from workbench.jobs.probe import on_checkpoints
from workbench.jobs.workspace import Workspace
from workbench.samples.minimal_pairs import ensure_minimal_pairs
from workbench.store.probe_results import ProbeResultRecord


def default_pairs_path(ws: Workspace) -> Path:
    """The bundled minimal-pair suite (generated into the home folder when the package has no resources folder)."""
    return ensure_minimal_pairs(ws.home / "sample")


def run_pair_suite(
    ws: Workspace,
    run_ref: str | int,
    suite_path: str | Path | None = None,
    step: int | None = None,
    all_checkpoints: bool = False,
    method: str = "original",
    device: str = "cpu",
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[ProbeResultRecord, PairSuiteResult]]:
    """Score a minimal-pair suite on one checkpoint or on every checkpoint, oldest first, recording each result."""
    suite = load_pairs(suite_path if suite_path is not None else default_pairs_path(ws))
    return on_checkpoints(ws, run_ref, lambda probe: evaluate_pairs(probe.model, probe.tokenizer, suite, method),
                          step, all_checkpoints, device, progress)
