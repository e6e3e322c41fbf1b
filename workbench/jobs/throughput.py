"""How many processes trained a run and how fast: recorded in the run's config under "processes", and the scaling
efficiency of a data-parallel run against the newest one-process run of the same shape, when there is one.

The config JSON is where a run already keeps what describes it (model, masking, train, data), so no column was
added: `processes` = {world_size, backend, tokens_per_second (all ranks together), rank_tokens_per_second}, for
the latest session of the run (a run resumed on another number of processes shows the latest).
"""

from __future__ import annotations

from typing import Any

from workbench.core.training_types import TrainResult
from workbench.jobs.workspace import Workspace
from workbench.store.records import RunRecord

KEY = "processes"


def record_throughput(ws: Workspace, run_id: int, result: TrainResult) -> None:
    run = ws.store.get_run(run_id)
    processes = {
        "world_size": result.world_size,
        "backend": result.backend,
        "tokens_per_second": result.tokens_per_second,
        "rank_tokens_per_second": None if result.rank_tokens_per_second is None
        else list(result.rank_tokens_per_second),
    }
    ws.store.update_run(run_id, config={**run.config, KEY: processes})


def _shape(run: RunRecord) -> tuple[Any, ...]:
    """What decides tokens/s besides the number of processes: model, batch, precision, length and the device
    kind (its name without the thread count, which torchrun sets to 1 per process on the CPU)."""
    config, train = run.config, run.config.get("train", {})
    return (config.get("model"), train.get("batch_size"), train.get("grad_accum"), train.get("precision"),
            config.get("data", {}).get("max_len"), (run.device or "").split(" (")[0])


def one_process_tokens_per_second(ws: Workspace, run: RunRecord) -> float | None:
    """Tokens/s of the newest other one-process pretraining run of the same shape; None if there is none."""
    for other in ws.store.list_runs(kind="pretrain"):
        processes = other.config.get(KEY) or {}
        if (other.id != run.id and processes.get("world_size") == 1 and processes.get("tokens_per_second")
                and _shape(other) == _shape(run)):
            return float(processes["tokens_per_second"])
    return None


def scaling_summary(ws: Workspace, run: RunRecord) -> dict[str, Any]:
    """world_size, backend, per-rank and total tokens/s, and the scaling efficiency total / (N x one process)."""
    processes = dict(run.config.get(KEY) or {"world_size": 1, "backend": None})
    total, world_size = processes.get("tokens_per_second"), processes.get("world_size", 1)
    single = one_process_tokens_per_second(ws, run) if world_size > 1 and total else None
    processes["one_process_tokens_per_second"] = single
    processes["scaling_efficiency"] = total / (world_size * single) if single else None
    return processes
