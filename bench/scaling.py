"""Scaling: training tokens/s and peak memory against sequence length, layers and batch size, and the Model
panel's memory estimate (workbench.core.model_config.estimate_training_memory) against the measured peak.

Each point runs in a fresh child process (so its peak RSS is its own): build a `small`-width workbench model,
fused AdamW, train a few steps on packed random blocks with dropout 0.1, and report tokens/s of the timed
steps and peak RSS minus the RSS before the model was built (Python, torch and the data stay out of it).
Points run one after another, each re-run when other processes used the CPU meanwhile.
Target (issue 6): the estimate within 20% of the measured peak at every point. The estimate counts the tensors
autograd keeps plus a CPU runtime term (see CPU_RUNTIME_BYTES and CPU_HEAP_SLACK in model_config.py); peak RSS
creeps up a little with more steps as glibc's heap fragments, so --quick points read a few % lower.

    python bench/scaling.py [--quick] [--threads N]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

from common import ROOT, bench_args, contamination, measure, print_table, save_result

BASE = dict(layers=4, hidden=256, heads=4, vocab=16000, seq_len=128, batch=16)
SWEEPS = {"seq_len": [64, 128, 256, 512], "layers": [2, 4, 8, 12], "batch": [8, 16, 32, 64]}
QUICK_SWEEPS = {"seq_len": [64, 256], "layers": [2, 4], "batch": [8, 16]}


def child(point: dict, steps: int) -> None:
    import torch

    from train_throughput import Shape, WorkbenchRunner, token_blocks
    from workbench.core.model_config import estimate_training_memory
    torch.set_num_threads(point.pop("threads"))
    shape = Shape(steps_per_block=1, **point)
    blocks = token_blocks(shape, 2 * shape.batch)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MB; the blocks are made already
    runner = WorkbenchRunner(shape, blocks, None)
    runner.step()  # first step: optimizer state, kernel choices
    started = time.perf_counter()
    for _ in range(steps):
        runner.step()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    estimate = estimate_training_memory(shape.model_config(), shape.batch, shape.seq_len).total / 2**20
    print(json.dumps({"tokens_per_s": steps * shape.batch * shape.seq_len / seconds, "peak_mb": peak,
                      "estimate_mb": estimate}))


def run_point(point: dict, steps: int, threads: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps({**point, "threads": threads}), str(steps)],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]), int(sys.argv[3]))
        return
    args = bench_args(__doc__.splitlines()[0])
    import torch
    threads = torch.get_num_threads()
    sweeps, steps = (QUICK_SWEEPS, 2) if args.quick else (SWEEPS, 4)
    rows, results, samples = [], {}, []
    for knob, values in sweeps.items():
        for value in values:
            point = {**BASE, knob: value}
            sample, out = measure(lambda: run_point(point, steps, threads), retries=2)
            samples.append(sample)
            error = out["estimate_mb"] / out["peak_mb"] - 1
            rows.append([knob, value, out["tokens_per_s"], out["peak_mb"], out["estimate_mb"], f"{100 * error:+.0f}%"])
            results[f"{knob}={value}"] = {**point, **out, "estimate_error": error}
    print_table(["varied", "value", "tokens/s", "peak MB", "estimate MB", "estimate error"], rows,
                title=f"scaling around {BASE} (fp32, dropout 0.1, {threads} threads)")
    worst = max(abs(r["estimate_error"]) for r in results.values())
    print(f"largest estimate error {100 * worst:.0f}% (target 20%: {'met' if worst <= 0.2 else 'missed'})")
    save_result("scaling", args, {"points": results, "max_estimate_error": worst,
                                  "contamination": contamination(samples)}, base=BASE)


if __name__ == "__main__":
    main()
