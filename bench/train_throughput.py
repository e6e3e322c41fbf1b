"""Training throughput: the workbench engine against HuggingFace BertForMaskedLM on the same work.

Both sides train the same architecture (dropout 0.1, GELU, post-LN), on the same packed blocks of token ids
(no padding), with the same masking rate and split (15%; 80/10/10), AdamW with BERT's decay groups (the fused
kernel, as HF's Trainer picks by default on torch >= 2.8), gradient clipping at 1.0, and the same threads.
The reference is `transformers.BertForMaskedLM` (its default attention implementation) fed by
`DataCollatorForLanguageModeling(mlm_probability=0.15)`; the workbench side is what `Trainer` runs per step:
`Masker` -> `BertForMaskedLM(labels=...)` -> backward -> clip + `build_optimizer`'s AdamW. Candidates are
interleaved block by block (a block = a few steps), contaminated blocks re-run, and the table gives tokens/s,
the median per-round speed-up over HF fp32, MFU against bench/peak.py's measured matmul peak (model FLOPs:
6 x params x tokens for the encoder, attention's 12 x L x T x H per token, the head and the last layer's
output dense and feed-forward only at masked positions, identical for both sides) and the per-step split
(data, forward, backward, optimizer).
A second part trains `tiny` from the same weights on the same batches in fp32 and bf16 autocast and
compares the masked-token loss curves. transformers is a benchmark-only dependency.

    python bench/train_throughput.py [--quick] [--configs tiny,small,base] [--no-bf16] [--hf-bf16]
                                     [--curve-steps N] [--threads N] [--rounds R]
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch
from common import (
    bench_args,
    contamination,
    interleave,
    median_seconds,
    print_table,
    ratio,
    require_transformers,
    round_ratios,
    save_result,
)
from peak import measured_peak

from workbench.core.masking import Masker
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.optim import build_optimizer, build_scheduler
from workbench.settings.masking import MaskingConfig
from workbench.settings.model import BertConfig

PAD, UNK, CLS, SEP, MASK = range(5)
SPECIALS = [PAD, UNK, CLS, SEP, MASK]
PHASES = ("data", "forward", "backward", "optimizer")


@dataclass(frozen=True)
class Shape:
    layers: int
    hidden: int
    heads: int
    vocab: int
    seq_len: int
    batch: int
    steps_per_block: int

    def model_config(self, dropout: float = 0.1) -> BertConfig:
        return BertConfig(vocab_size=self.vocab, hidden_size=self.hidden, num_hidden_layers=self.layers,
                          num_attention_heads=self.heads, intermediate_size=4 * self.hidden,
                          max_position_embeddings=max(512, self.seq_len), hidden_dropout_prob=dropout,
                          attention_probs_dropout_prob=dropout)


SHAPES = {"tiny": Shape(2, 128, 2, 8000, 128, 32, 8), "small": Shape(4, 256, 4, 16000, 128, 32, 4),
          "base": Shape(12, 768, 12, 30000, 128, 8, 1)}
QUICK_SHAPES = {"tiny": Shape(2, 128, 2, 8000, 128, 32, 3), "small": Shape(4, 256, 4, 16000, 128, 32, 2),
                "base": Shape(12, 768, 12, 30000, 128, 4, 1)}


def token_blocks(shape: Shape, n_blocks: int, seed: int = 0) -> torch.Tensor:
    """Packed blocks [CLS] + Zipf-distributed ids (words are Zipfian; uniform ids would flatter no one). (N, T)"""
    g = torch.Generator().manual_seed(seed)
    ranks = torch.arange(1, shape.vocab - len(SPECIALS) + 1, dtype=torch.float64)
    ids = torch.multinomial(1.0 / ranks, n_blocks * (shape.seq_len - 1), replacement=True, generator=g)
    blocks = (ids + len(SPECIALS)).view(n_blocks, shape.seq_len - 1)
    return torch.cat([torch.full((n_blocks, 1), CLS), blocks], dim=1)


def model_flops_per_step(shape: Shape, mlm_probability: float = 0.15) -> float:
    """Training FLOPs of the work the loss needs (3x forward): what only masked positions are read from, the
    MLM head and the last layer after its attention (output dense, feed-forward), counted there only."""
    h, n = shape.hidden, shape.batch * shape.seq_len
    everywhere = (shape.layers - 1) * (4 * h * h + 2 * h * 4 * h) + 3 * h * h  # matmul weights; last: q, k, v
    attention = 2 * 2 * shape.seq_len * h * shape.layers  # QK^T and AV per token, forward
    at_masked = h * h + 2 * h * 4 * h + h * h + h * shape.vocab  # last output dense + FFN, transform + decoder
    return 3 * 2 * n * (everywhere + attention / 2 + mlm_probability * at_masked)


class Runner:
    """One side of the comparison; `step()` runs one optimizer step and adds its phase times to `split`."""

    name = ""

    def __init__(self, blocks: torch.Tensor, batch: int, autocast: torch.dtype | None) -> None:
        self.blocks, self.batch, self.autocast, self.cursor = blocks, batch, autocast, 0
        self.split = {p: 0.0 for p in PHASES}
        self.steps = 0
        self.losses: list[float] = []

    def next_indices(self) -> torch.Tensor:
        start = self.cursor % (len(self.blocks) - self.batch + 1)
        self.cursor += self.batch
        return torch.arange(start, start + self.batch)

    def _context(self) -> torch.autocast:
        return torch.autocast("cpu", dtype=self.autocast or torch.bfloat16, enabled=self.autocast is not None)

    def step(self) -> None:
        t0 = time.perf_counter()
        inputs = self.make_batch(self.next_indices())
        t1 = time.perf_counter()
        with self._context():
            loss = self.forward(inputs)
        t2 = time.perf_counter()
        loss.backward()
        t3 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        t4 = time.perf_counter()
        for phase, seconds in zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
            self.split[phase] += seconds
        self.steps += 1
        self.losses.append(float(loss.detach()))

    def make_batch(self, indices: torch.Tensor) -> dict: ...

    def forward(self, inputs: dict) -> torch.Tensor: ...

    def finish_setup(self, lr: float, warmup: int, total: int) -> None:
        self.model.train()
        self.optimizer = build_optimizer(self.model, lr, 0.01)  # BERT's groups, fused AdamW, both sides
        self.scheduler = build_scheduler(self.optimizer, warmup, max(total, 1), "constant" if total <= 0 else "linear")


class WorkbenchRunner(Runner):
    def __init__(self, shape: Shape, blocks: torch.Tensor, autocast: torch.dtype | None, dropout: float = 0.1,
                 seed: int = 0, lr: float = 1e-4, warmup: int = 0, total: int = 0) -> None:
        super().__init__(blocks, shape.batch, autocast)
        torch.manual_seed(seed)
        self.model = BertForMaskedLM(shape.model_config(dropout))
        self.masker = Masker(MaskingConfig(mlm_probability=0.15), shape.vocab, MASK, SPECIALS)
        self.finish_setup(lr, warmup, total)

    def make_batch(self, indices: torch.Tensor) -> dict:
        ids = self.blocks[indices]
        masked = self.masker(ids, torch.ones_like(ids), None, indices, self.cursor // len(self.blocks))
        return {"input_ids": masked.input_ids, "attention_mask": masked.attention_mask, "labels": masked.labels}

    def forward(self, inputs: dict) -> torch.Tensor:
        return self.model(**inputs).loss


class HFRunner(Runner):
    def __init__(self, shape: Shape, blocks: torch.Tensor, autocast: torch.dtype | None, seed: int = 0) -> None:
        transformers = require_transformers()
        super().__init__(blocks, shape.batch, autocast)
        self.collator = transformers.DataCollatorForLanguageModeling(hf_tokenizer(shape.vocab), mlm_probability=0.15)
        torch.manual_seed(seed)
        self.model = transformers.BertForMaskedLM(transformers.BertConfig(**shape.model_config().to_dict()))
        self.finish_setup(1e-4, 0, 0)

    def make_batch(self, indices: torch.Tensor) -> dict:
        # what a `datasets` set in torch format hands the collator: one dict per example
        return self.collator([{"input_ids": self.blocks[i]} for i in indices.tolist()])

    def forward(self, inputs: dict) -> torch.Tensor:
        return self.model(**inputs).loss


def hf_tokenizer(vocab_size: int):
    """A PreTrainedTokenizerFast over a word-level vocabulary of `vocab_size` ids (the collator needs one)."""
    transformers = require_transformers()
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    names = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(5, vocab_size)]
    tok = Tokenizer(WordLevel({n: i for i, n in enumerate(names)}, unk_token="[UNK]"))
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def block_fn(runner: Runner, steps: int) -> Callable[[], None]:
    def block() -> None:
        for _ in range(steps):
            runner.step()
    return block


def compare(name: str, shape: Shape, rounds: int, with_bf16: bool, hf_bf16: bool,
            peak: dict | None) -> tuple[list, dict]:
    blocks = token_blocks(shape, max(4 * shape.batch, 64))
    runners: dict[str, Runner] = {"hf fp32": HFRunner(shape, blocks, None), "wb fp32": WorkbenchRunner(shape, blocks, None)}
    if with_bf16:  # the targets compare workbench bf16 with HF fp32; HF bf16 only when asked (slow here)
        runners["wb bf16"] = WorkbenchRunner(shape, blocks, torch.bfloat16)
    if hf_bf16:
        runners["hf bf16"] = HFRunner(shape, blocks, torch.bfloat16)
    for r in runners.values():  # warm-up steps stay out of the split
        r.step()
        r.split, r.steps = {p: 0.0 for p in PHASES}, 0
    samples = interleave({k: block_fn(r, shape.steps_per_block) for k, r in runners.items()}, rounds, warmup=0)
    tokens = shape.batch * shape.seq_len * shape.steps_per_block
    flops = model_flops_per_step(shape) * shape.steps_per_block
    rows, results = [], {}
    for key, runner in runners.items():
        seconds = median_seconds(samples[key])
        dtype = key.split()[1]
        mfu = flops / seconds / (peak[dtype] * 1e9) if peak else None
        split = {p: runner.split[p] / runner.steps * 1e3 for p in PHASES}  # ms per step
        speedup = ratio(samples, "hf fp32", key)
        rows.append([name, key, tokens / seconds, speedup, "-" if mfu is None else f"{100 * mfu:.1f}%",
                     *(split[p] for p in PHASES)])
        results[key] = {"tokens_per_s": tokens / seconds, "speedup_vs_hf_fp32": speedup, "mfu": mfu,
                        "split_ms": split, "round_speedups": round_ratios(samples, "hf fp32", key)}
    results["contamination"] = contamination(samples)
    return rows, results


def bf16_curve_check(steps: int) -> tuple[list, dict]:
    """tiny from the same weights and batches in fp32 and bf16; loss difference vs the curve's own noise."""
    shape = SHAPES["tiny"]
    blocks = token_blocks(shape, shape.batch * 16, seed=1)
    curves = {}
    for key, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        runner = WorkbenchRunner(shape, blocks, dtype, lr=1e-3, warmup=max(1, steps // 10), total=steps)
        torch.manual_seed(0)  # same dropout stream
        for _ in range(steps):
            runner.step()
        curves[key] = runner.losses
    tail = max(5, steps // 4)
    fp32_tail, bf16_tail = curves["fp32"][-tail:], curves["bf16"][-tail:]
    noise = statistics.stdev(fp32_tail)  # step-to-step noise of the fp32 curve near its end
    diff = statistics.mean(bf16_tail) - statistics.mean(fp32_tail)
    max_abs = max(abs(a - b) for a, b in zip(curves["fp32"], curves["bf16"]))
    within = abs(diff) <= 2 * noise / tail**0.5 + 0.02
    rows = [[steps, statistics.mean(fp32_tail), statistics.mean(bf16_tail), diff, noise, max_abs,
             "yes" if within else "NO"]]
    return rows, {"steps": steps, "curves": curves, "tail_mean_diff": diff, "tail_noise_std": noise,
                  "max_abs_diff": max_abs, "within_noise": within}


def main() -> None:
    args = bench_args(__doc__.splitlines()[0], lambda p: (
        p.add_argument("--configs", default="tiny,small,base", help="comma-separated: tiny, small, base"),
        p.add_argument("--no-bf16", action="store_true", help="fp32 only"),
        p.add_argument("--hf-bf16", action="store_true", help="also HF under bf16 autocast"),
        p.add_argument("--curve-steps", type=int, default=None, help="steps of the bf16-vs-fp32 curve check")))
    shapes = QUICK_SHAPES if args.quick else SHAPES
    rounds = args.rounds or (2 if args.quick else 5)
    peak = measured_peak()
    if peak is None:
        print("no bench/results/peak.jsonl yet: run bench/peak.py first for MFU")
    rows, results = [], {}
    for name in args.configs.split(","):
        # a base-shape step takes seconds on a CPU: 3 rounds unless asked for more (its ratio varies by ~0.1
        # between 3-round runs, so a verdict on it wants --configs base --rounds 9 or more)
        base_rounds = 1 if args.quick else (args.rounds or 3)
        r, res = compare(name, shapes[name], base_rounds if name == "base" else rounds, not args.no_bf16,
                         args.hf_bf16, peak)
        rows += r
        print(f"{name}: other processes' CPU use {res['contamination']}")
        results[name] = res
    print_table(["config", "side", "tokens/s", "x HF fp32", "MFU", "data ms", "fwd ms", "bwd ms", "optim ms"],
                rows, title="training throughput (median of interleaved blocks)")
    if not args.no_bf16:
        curve_rows, results["bf16_curve"] = bf16_curve_check(args.curve_steps or (20 if args.quick else 150))
        print_table(["steps", "fp32 tail loss", "bf16 tail loss", "diff", "fp32 noise (std)", "max |diff|",
                     "within noise"], curve_rows, title="bf16 vs fp32 masked-token loss, tiny, same weights and batches")
    save_result("train_throughput", args, results, peak_gflops=peak,
                shapes={k: vars(shapes[k]) for k in args.configs.split(",")})


if __name__ == "__main__":
    main()
