"""A run records how many processes trained it and how fast; a data-parallel run's scaling efficiency is its
total tokens/s over N times the newest one-process run of the same shape, and unknown without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.training_types import TrainResult
from workbench.jobs.throughput import record_throughput, scaling_summary
from workbench.jobs.workspace import Workspace

SHAPE = {"model": {"hidden_size": 32}, "train": {"batch_size": 8, "grad_accum": 1, "precision": "fp32"},
         "data": {"max_len": 32}}


@pytest.fixture
def ws(home: Path):
    with Workspace(home) as workspace:
        yield workspace


def trained(ws: Workspace, name: str, world_size: int, tokens_per_second: float,
            device: str = "CPU (2 cores, 1 thread)", config: dict = SHAPE) -> int:
    run = ws.store.create_run(name, "pretrain", config, None, None, device=device)
    per_rank = tuple(tokens_per_second / world_size for _ in range(world_size))
    result = TrainResult("completed", 8, 1.0, None, None, None, None, tokens_per_second, None, "", world_size,
                         "gloo" if world_size > 1 else None, per_rank)
    record_throughput(ws, run.id, result)
    return run.id


def test_the_run_records_its_processes_and_efficiency_against_one_process_of_the_same_shape(ws: Workspace) -> None:
    two = trained(ws, "two", 2, 3000.0)
    alone = scaling_summary(ws, ws.store.get_run(two))
    assert alone["world_size"] == 2 and alone["backend"] == "gloo" and alone["rank_tokens_per_second"] == [1500, 1500]
    assert alone["scaling_efficiency"] is None  # no one-process run to compare with yet

    trained(ws, "other-shape", 1, 100.0, config={**SHAPE, "train": {**SHAPE["train"], "batch_size": 16}})
    trained(ws, "other-device", 1, 100.0, device="NVIDIA H200 (139.8 GiB, cuda:0)")
    trained(ws, "one", 1, 2000.0, device="CPU (2 cores, 2 threads)")  # thread counts differ under torchrun
    summary = scaling_summary(ws, ws.store.get_run(two))
    assert summary["one_process_tokens_per_second"] == 2000.0
    assert summary["scaling_efficiency"] == pytest.approx(3000.0 / (2 * 2000.0))
    assert ws.store.get_run(two).config["model"] == SHAPE["model"]  # the rest of the config is kept
