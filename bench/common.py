"""Shared helpers of the benchmark scripts: contamination-aware timing, machine info, results, tables.

The machine these run on is often shared, and a two-thread PyTorch run slows down several times when another
process takes a core. So every timed block records how much CPU the *other* processes used while it ran
(from /proc/stat minus this process's own /proc/self/stat, steal time counted as others'), and a block where
they used more than `CONTAMINATION_CORES` is run again (up to `retries` times, the cleanest kept and
flagged). Comparisons interleave their candidates round by round and report the median of per-round ratios,
which survives a noisy neighbour far better than absolute times. Each script appends one JSON line per run to
bench/results/<name>.jsonl (machine, versions, date, settings, results) and prints a table.
Absolute numbers are only meaningful from a quiet machine; ratios are what the targets of issue 6 are about.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
if str(ROOT) not in sys.path:  # `python bench/x.py` from a checkout without an installed package
    sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")
CONTAMINATION_CORES = 0.25  # other processes' mean CPU use (in cores) above which a block is re-run


# ---- CPU accounting ----------------------------------------------------------------------------------------

def _system_busy_ticks() -> int:
    """Busy ticks of all CPUs (user, nice, system, irq, softirq, steal); idle and iowait left out."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return user + nice + system + irq + softirq + steal


def _own_ticks() -> int:
    """This process's CPU ticks, all threads, plus its reaped children's (subprocess benchmarks)."""
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return utime + stime + cutime + cstime


@dataclass
class Sample:
    seconds: float  # wall-clock seconds of the block
    others: float  # mean CPU cores other processes used during it
    tries: int = 1  # runs of the block it took to get a clean one

    @property
    def clean(self) -> bool:
        return self.others <= CONTAMINATION_CORES


def run_block(fn: Callable[[], Any]) -> tuple[Sample, Any]:
    """Run fn once; its wall time and the other processes' CPU use meanwhile."""
    busy0, own0, t0 = _system_busy_ticks(), _own_ticks(), time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t0
    others = (_system_busy_ticks() - busy0) - (_own_ticks() - own0)
    return Sample(seconds, max(others, 0) / CLK_TCK / max(seconds, 1e-9)), value


def measure(fn: Callable[[], Any], retries: int = 3) -> tuple[Sample, Any]:
    """Run fn until a block is clean (at most 1 + retries times); the cleanest block and its value."""
    best: tuple[Sample, Any] | None = None
    for attempt in range(1 + retries):
        sample, value = run_block(fn)
        sample.tries = attempt + 1
        if best is None or sample.others < best[0].others:
            best = (sample, value)
        if sample.clean:
            break
    assert best is not None
    best[0].tries = attempt + 1
    return best


def interleave(candidates: dict[str, Callable[[], Any]], rounds: int, retries: int = 3,
               warmup: int = 1, deadline: float | None = None) -> dict[str, list[Sample]]:
    """Time each candidate once per round, alternating their order, so drift and neighbours hit all alike.
    No round after the first starts past `deadline` (a time.perf_counter() value), for time-boxed runs."""
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for r in range(rounds):
        if r and deadline is not None and time.perf_counter() > deadline:
            break
        for name in (names if r % 2 == 0 else names[::-1]):
            samples[name].append(measure(candidates[name], retries)[0])
    return samples


def ratio(samples: dict[str, list[Sample]], slow: str, fast: str) -> float:
    """Median over rounds of time(slow) / time(fast): > 1 means `fast` is faster."""
    return statistics.median(round_ratios(samples, slow, fast))


def round_ratios(samples: dict[str, list[Sample]], slow: str, fast: str) -> list[float]:
    """time(slow) / time(fast) of each round, sorted: the spread behind `ratio`'s median."""
    return sorted(s.seconds / f.seconds for s, f in zip(samples[slow], samples[fast]))


def median_seconds(samples: Sequence[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


def contamination(samples: dict[str, list[Sample]] | Sequence[Sample]) -> dict[str, Any]:
    """Summary of the other processes' CPU use over a set of blocks."""
    flat = [s for v in samples.values() for s in v] if isinstance(samples, dict) else list(samples)
    return {"max_other_cores": round(max(s.others for s in flat), 3),
            "contaminated_blocks": sum(not s.clean for s in flat),
            "retried_blocks": sum(s.tries > 1 for s in flat), "blocks": len(flat)}


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# ---- machine, settings, results --------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    try:
        with open("/proc/cpuinfo") as f:
            flags = next(line for line in f if line.startswith("flags")).split(":", 1)[1].split()
    except (OSError, StopIteration):
        return []
    return sorted(f for f in flags if f.startswith(("avx512f", "avx512_bf16", "amx", "avx2")))


def machine_info() -> dict[str, Any]:
    import torch
    info = {"cpu": cpu_model(), "cores": os.cpu_count(), "cpu_flags": cpu_flags(), "python": platform.python_version(),
            "torch": torch.__version__, "threads": torch.get_num_threads(), "platform": platform.platform(),
            "loadavg_at_start": os.getloadavg()[0]}
    try:
        import transformers
        info["transformers"] = transformers.__version__
    except ImportError:
        info["transformers"] = None
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        info["git_commit"] = None
    return info


def bench_args(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Common flags: --quick (a short validation run), --threads, --rounds, --no-save."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run to check the script, not for numbers")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all cores)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: per script)")
    parser.add_argument("--no-save", action="store_true", help="print only; append nothing to bench/results")
    if extra:
        extra(parser)
    args = parser.parse_args()
    import torch
    torch.set_num_threads(args.threads or os.cpu_count() or 1)
    return args


def require_transformers() -> Any:
    """transformers is a benchmark-only dependency: import it or exit with a clear line."""
    try:
        import transformers
    except ImportError:
        sys.exit("this benchmark compares with HuggingFace transformers, which is not installed "
                 "(pip install 'transformers>=4.40'); it is a benchmark-only dependency")
    transformers.logging.set_verbosity_error()
    return transformers


def save_result(name: str, args: argparse.Namespace, results: Any, path: Path | None = None,
                **extra: Any) -> Path | None:
    """Append {"bench", "date", "quick", "machine", "results", ...} as one JSON line to `path` (default
    bench/results/<name>.jsonl); its path."""
    record = {"bench": name, "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
              "quick": bool(args.quick), "machine": machine_info(), **extra, "results": results}
    print(f"machine: {record['machine']['cpu']}, {record['machine']['cores']} cores, "
          f"{record['machine']['threads']} threads, torch {record['machine']['torch']}")
    if args.no_save:
        return None
    path = Path(path) if path is not None else RESULTS_DIR / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        f.write(json.dumps(record, default=str) + "\n")
    where = path.resolve()
    print(f"appended to {where.relative_to(ROOT) if where.is_relative_to(ROOT) else where}")
    return path


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A plain-text table; floats shown with 3 significant digits (4 for numbers >= 1000)."""
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
        return str(v)
    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) if text else len(h) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in text:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
