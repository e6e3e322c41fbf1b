"""Engine levers of issue 6, each measured as an interleaved A/B inside one process on one model.

Every variant trains the same workbench model (same weights, batches, masks) for a block of steps; the table
gives the median per-round speed-up of each variant over the `before` baseline. The baselines are the
engine's earlier choices, rebuilt here by patching a model instance:
  dropout      nn.Dropout (a Bernoulli per element) -> workbench Dropout (one 64-bit draw per 4 elements)
  attention    SDPA with dropout_p (CPU falls back to its math path), a mask always built
               -> explicit softmax + cheap dropout, no mask without padding
  last layer   every position through the last layer's attention output and feed-forward
               -> only the masked ones (the loss reads no others; every position still a key and value)
  tied lookup  the tied embedding/decoder matrix's lookup gradient dense (V x H zeros + a dense add)
               -> as (rows, values), added to the decoder's dense gradient
  fused qkv    three q/k/v matmuls -> one on concatenated weights (measured, not kept: no gain here)
  optimizer    foreach AdamW -> fused AdamW (build_optimizer's choice)
  malloc       glibc defaults -> large tensors kept on the heap (mallopt: no mmap/munmap + page faults
               per step); not in the engine, measured to say whether it should be
  threads      1 thread -> all cores (how far more cores carry)
  compile      eager -> torch.compile (opt-in only; its compile time is reported), with --compile

    python bench/levers.py [--quick] [--config tiny|small|base] [--levers a,b] [--threads N] [--compile]
"""

from __future__ import annotations

import ctypes
import os
import time
import types
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from common import bench_args, contamination, interleave, print_table, ratio, round_ratios, save_result
from train_throughput import QUICK_SHAPES, SHAPES, WorkbenchRunner, token_blocks
from workbench.core import modeling_bert
from workbench.core.modeling_bert import additive_mask

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
GLIBC_DEFAULT_THRESHOLD = 128 * 1024


def legacy_attention_forward(self, x, key_mask, output_attentions=False):
    """The engine's attention before the levers: three projections, SDPA with dropout_p, no explicit path."""
    B, T, H = x.shape
    q, k, v = (proj(x).view(B, T, self.num_heads, self.head_size).transpose(1, 2)
               for proj in (self.query, self.key, self.value))  # (B, A, T, hs)
    bias = None if key_mask is None else additive_mask(key_mask, q.dtype)
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                             dropout_p=self.dropout.p if self.training else 0.0)
    return context.transpose(1, 2).reshape(B, T, H), None


def fused_qkv_project(self, x):
    """One (B*T, H) x (H, 3H) matmul on concatenated weights instead of three (HF names kept)."""
    B, T, _ = x.shape
    weight = torch.cat([self.query.weight, self.key.weight, self.value.weight])  # (3H, H)
    bias = torch.cat([self.query.bias, self.key.bias, self.value.bias])
    qkv = F.linear(x, weight, bias).view(B, T, 3, self.num_heads, self.head_size)
    return qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, A, T, hs)


def with_torch_dropout(model: nn.Module) -> None:
    for parent in model.modules():
        for name, child in parent.named_children():
            if isinstance(child, modeling_bert.Dropout):
                setattr(parent, name, nn.Dropout(child.p))


def with_legacy_attention(model: nn.Module, always_mask: bool = True) -> None:
    for module in model.modules():
        if isinstance(module, modeling_bert.BertSelfAttention):
            module.forward = types.MethodType(legacy_attention_forward, module)
    if always_mask:  # the engine used to build an all-ones mask for packed blocks too
        bert = model.bert
        bert.forward = types.MethodType(lambda self, ids, mask, types_=None, positions=None, attentions=False,
                                        hidden=False, rows=None: self.encoder(
            self.embeddings(ids), mask.bool()[:, None, None, :], False, False, rows), bert)


def with_fused_qkv(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, modeling_bert.BertSelfAttention):
            module._project = types.MethodType(fused_qkv_project, module)


def with_foreach_adamw(runner: WorkbenchRunner) -> None:
    groups = [{k: v for k, v in g.items() if k != "fused"} for g in runner.optimizer.param_groups]
    runner.optimizer = torch.optim.AdamW(groups, foreach=True)
    runner.scheduler = torch.optim.lr_scheduler.LambdaLR(runner.optimizer, lambda step: 1.0)


def set_heap_malloc(on: bool) -> None:
    libc = ctypes.CDLL("libc.so.6")
    threshold = 1 << 30 if on else GLIBC_DEFAULT_THRESHOLD
    libc.mallopt(M_MMAP_THRESHOLD, threshold)
    libc.mallopt(M_TRIM_THRESHOLD, threshold if not on else 2**31 - 1)


def steps(runner: WorkbenchRunner, n: int, before: Callable[[], None] = lambda: None,
          after: Callable[[], None] = lambda: None) -> Callable[[], None]:
    def block() -> None:
        before()
        for _ in range(n):
            runner.step()
        after()
    return block


def runner_for(shape, blocks, patch: Callable[[WorkbenchRunner], None] | None = None) -> WorkbenchRunner:
    runner = WorkbenchRunner(shape, blocks, None)
    if patch:
        patch(runner)
    return runner


def full_last_layer_forward(self, input_ids, attention_mask=None, labels=None):
    """BertForMaskedLM's forward with labels before the lever: the last layer at every position."""
    selected = labels != -100
    logits = self.logits_at(self.bert(input_ids, attention_mask).last_hidden_state, selected)  # (N, V)
    loss = F.cross_entropy(logits, labels[selected], reduction="sum") / selected.sum().clamp(min=1)
    return modeling_bert.MaskedLMOutput(loss, logits)


def with_full_last_layer(runner: WorkbenchRunner) -> None:
    runner.model.forward = types.MethodType(full_last_layer_forward, runner.model)


def with_dense_lookup(runner: WorkbenchRunner) -> None:
    runner.model.bert.embeddings.word_embeddings.sparse = False  # nn.Embedding's default


def lever_pairs(shape, blocks, n: int, threads: int) -> dict[str, Callable[[], dict[str, Callable[[], None]]]]:
    """{lever: build}, build() -> {"before": block, "after": block}; `after` is the engine as it is now.
    Runners are built per lever, so a base-shape run holds only a lever's two models at a time."""
    current = lambda: runner_for(shape, blocks)
    patched = lambda *patches: runner_for(shape, blocks, lambda r: [patch(r) for patch in patches])
    torch_dropout = lambda r: with_torch_dropout(r.model)
    legacy_attention = lambda r: with_legacy_attention(r.model)
    one_thread, all_cores = (lambda: torch.set_num_threads(1)), (lambda: torch.set_num_threads(os.cpu_count() or 1))
    restore = lambda: torch.set_num_threads(threads)

    def same_runner(before=(lambda: None, lambda: None), after=(lambda: None, lambda: None)):
        runner = current()
        return {"before": steps(runner, n, *before), "after": steps(runner, n, *after)}

    return {
        "dropout": lambda: {"before": steps(patched(torch_dropout), n), "after": steps(current(), n)},
        "attention (all)": lambda: {"before": steps(patched(torch_dropout, legacy_attention), n),
                                    "after": steps(patched(torch_dropout), n)},
        "last layer at masked rows only": lambda: {"before": steps(patched(with_full_last_layer), n),
                                                   "after": steps(current(), n)},
        "sparse lookup of the tied matrix": lambda: {"before": steps(patched(with_dense_lookup), n),
                                                     "after": steps(current(), n)},
        "fused qkv (not kept)": lambda: {"before": steps(current(), n),
                                         "after": steps(patched(lambda r: with_fused_qkv(r.model)), n)},
        "engine before vs now": lambda: {"before": steps(patched(
            torch_dropout, legacy_attention, with_dense_lookup, with_full_last_layer), n),
                                         "after": steps(current(), n)},
        "fused adamw": lambda: {"before": steps(patched(with_foreach_adamw), n), "after": steps(current(), n)},
        "heap malloc (not in engine)": lambda: same_runner(after=(lambda: set_heap_malloc(True),
                                                                  lambda: set_heap_malloc(False))),
        "threads (1 -> all cores)": lambda: same_runner(before=(one_thread, restore), after=(all_cores, restore)),
    }


def compile_lever(shape, blocks, n: int, rounds: int) -> list:
    eager, compiled = runner_for(shape, blocks), runner_for(shape, blocks)
    compiled.model = torch.compile(compiled.model)
    started = time.perf_counter()
    compiled.step()
    compile_seconds = time.perf_counter() - started
    samples = interleave({"before": steps(eager, n), "after": steps(compiled, n)}, rounds)
    return ["torch.compile", ratio(samples, "before", "after"), contamination(samples)["contaminated_blocks"],
            f"compile {compile_seconds:.0f} s"]


def main() -> None:
    args = bench_args(__doc__.splitlines()[0], lambda p: (
        p.add_argument("--config", default="tiny", choices=["tiny", "small", "base"]),
        p.add_argument("--levers", default=None, help="comma-separated lever names (default: all)"),
        p.add_argument("--compile", action="store_true", help="also measure torch.compile (slow warm-up)")))
    shape = (QUICK_SHAPES if args.quick else SHAPES)[args.config]
    rounds = args.rounds or (3 if args.quick else 5)
    blocks = token_blocks(shape, 4 * shape.batch)
    threads = torch.get_num_threads()
    rows, results = [], {}
    pairs = lever_pairs(shape, blocks, shape.steps_per_block, threads)
    chosen = [name.strip() for name in args.levers.split(",")] if args.levers else list(pairs)
    for lever in chosen:
        samples = interleave(pairs[lever](), rounds)
        speedup, spread = ratio(samples, "before", "after"), round_ratios(samples, "before", "after")
        rows.append([lever, speedup, contamination(samples)["contaminated_blocks"],
                     f"rounds {spread[0]:.2f}-{spread[-1]:.2f}"])
        results[lever] = {"speedup": speedup, "round_speedups": spread, "contamination": contamination(samples)}
    if args.compile:
        rows.append(compile_lever(shape, blocks, shape.steps_per_block, rounds))
        results["torch.compile"] = {"speedup": rows[-1][1], "note": rows[-1][3]}
    print_table(["lever", "speed-up (after/before)", "contaminated blocks", "note"], rows,
                title=f"engine levers, {args.config}, {threads} threads (median of {rounds} interleaved rounds)")
    save_result("levers", args, results, config=args.config)


if __name__ == "__main__":
    main()
