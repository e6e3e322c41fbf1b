"""Measured matmul peak of this machine in fp32 and bf16 (GFLOP/s), the denominator of MFU.

Times square and BERT-shaped matmuls (`torch.mm`, what nn.Linear lowers to) at the configured thread count and
keeps the best clean block per dtype: the highest rate a well-shaped GEMM reaches here, not the vendor's
figure. bf16 reaches AMX through oneDNN where the CPU has it (flags amx_bf16 / avx512_bf16 in the table).
train_throughput.py reads the latest line of bench/results/peak.jsonl, so run this first.

    python bench/peak.py [--quick] [--threads N]
"""

from __future__ import annotations

import json

import torch

from common import RESULTS_DIR, bench_args, contamination, cpu_flags, measure, print_table, save_result

SHAPES = [(1024, 1024, 1024), (2048, 2048, 2048), (4096, 768, 3072), (4096, 3072, 768)]  # (M, K, N)
QUICK_SHAPES = [(1024, 1024, 1024), (2048, 768, 3072)]


def gflops(m: int, k: int, n: int, dtype: torch.dtype, repeats: int, retries: int) -> tuple[float, object]:
    a, b = torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)
    out = torch.empty(m, n, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: oneDNN picks and caches its kernel

    def block() -> None:
        for _ in range(repeats):
            torch.mm(a, b, out=out)

    sample, _ = measure(block, retries)
    return 2 * m * k * n * repeats / sample.seconds / 1e9, sample


def measured_peak() -> dict[str, float] | None:
    """The latest {"fp32": GFLOP/s, "bf16": GFLOP/s} from bench/results/peak.jsonl, if any."""
    path = RESULTS_DIR / "peak.jsonl"
    if not path.exists():
        return None
    lines = path.read_text().splitlines()
    return json.loads(lines[-1])["results"]["peak_gflops"] if lines else None


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rounds = args.rounds or (2 if args.quick else 5)
    rows, samples, peak = [], [], {}
    for dtype_name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        for m, k, n in shapes:
            repeats = max(1, int(4e10 / (2 * m * k * n)))  # about 40 GFLOP per block
            best = 0.0
            for _ in range(rounds):
                rate, sample = gflops(m, k, n, dtype, repeats, retries=3)
                samples.append(sample)
                best = max(best, rate)
            rows.append([dtype_name, f"{m}x{k}x{n}", best])
            peak[dtype_name] = max(peak.get(dtype_name, 0.0), best)
    print_table(["dtype", "M x K x N", "GFLOP/s"], rows, title="matmul throughput (best of the clean blocks)")
    print(f"peak: fp32 {peak['fp32']:.0f} GFLOP/s, bf16 {peak['bf16']:.0f} GFLOP/s "
          f"(bf16/fp32 = {peak['bf16'] / peak['fp32']:.2f}); flags: {' '.join(cpu_flags())}")
    save_result("peak", args, {"peak_gflops": peak, "shapes": rows, "contamination": contamination(samples)})


if __name__ == "__main__":
    main()
