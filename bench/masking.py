"""Masking cost: the workbench's `Masker` (token, whole-word, span) against HF's DataCollatorForLanguageModeling.

Both mask the same 256 x 128 batch of Zipf-distributed ids at 15% (80/10/10). The HF collator gets what a
`datasets` set in torch format hands it (one dict per example) and, for whole words, the same batch and words through
`whole_word_mask=True` (offsets built so HF sees the same word boundaries). Word starts for the workbench come from a
per-id lookup, as `WorkbenchTokenizer.word_start_mask` does, and are timed with the masking. Then the masking
of one `tiny` training batch (32 x 128) is compared with a whole `tiny` training step (target: <= 5%).

    python bench/masking.py [--quick] [--threads N]
"""

from __future__ import annotations

import warnings

import torch
from common import bench_args, contamination, interleave, median_seconds, print_table, ratio, save_result
from train_throughput import MASK, SHAPES, SPECIALS, WorkbenchRunner, hf_tokenizer, token_blocks

from workbench.core.masking import Masker
from workbench.settings.masking import MaskingConfig

BATCH, SEQ_LEN = 256, 128


def word_start_lookup(vocab: int) -> torch.Tensor:
    starts = torch.rand(vocab, generator=torch.Generator().manual_seed(1)) < 0.7  # (V,) ~1.4 tokens a word
    starts[SPECIALS] = True
    return starts


def offsets_for(ids: torch.Tensor, starts: torch.Tensor) -> torch.Tensor:
    """Character offsets giving HF's whole-word masking the same words: one character per token, a space
    before each word start. (B, T, 2)"""
    ends = torch.cumsum(1 + starts[ids].long(), dim=1)  # (B, T)
    return torch.stack([ends - 1, ends], dim=-1)


def workbench_masking(strategy: str, ids: torch.Tensor, vocab: int, repeats: int):
    masker = Masker(MaskingConfig(strategy=strategy), vocab, MASK, SPECIALS)
    starts = word_start_lookup(vocab)
    seq_ids, attention_mask = torch.arange(len(ids)), torch.ones_like(ids)

    def block() -> None:
        for epoch in range(repeats):
            word_start = None if strategy == "token" else starts[ids]  # (B, T)
            masker(ids, attention_mask, word_start, seq_ids, epoch)
    return block


def hf_masking(ids: torch.Tensor, vocab: int, repeats: int, whole_word: bool):
    transformers = __import__("transformers")
    warnings.filterwarnings("ignore", message="Random token replacement")  # HF: whole words get [MASK] only
    collator = transformers.DataCollatorForLanguageModeling(hf_tokenizer(vocab), mlm_probability=0.15,
                                                            whole_word_mask=whole_word)
    offsets = offsets_for(ids, word_start_lookup(vocab))
    examples = [{"input_ids": row, **({"offset_mapping": o} if whole_word else {})} for row, o in zip(ids, offsets)]
    collator(examples)  # fails here, not in the timing, where whole-word masking is unsupported

    def block() -> None:
        for _ in range(repeats):
            collator(examples)
    return block


def share_of_tiny_step(rounds: int, repeats: int) -> dict:
    shape = SHAPES["tiny"]
    runner = WorkbenchRunner(shape, token_blocks(shape, 4 * shape.batch), None)
    ids = runner.blocks[: shape.batch]
    samples = interleave({"step": lambda: [runner.step() for _ in range(2)],
                          "masking": workbench_masking("span", ids, shape.vocab, repeats)}, rounds)
    step, masking = median_seconds(samples["step"]) / 2, median_seconds(samples["masking"]) / repeats
    return {"step_ms": step * 1e3, "span_masking_ms": masking * 1e3, "share": masking / step,
            "contamination": contamination(samples)}


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    transformers_ok = __import__("importlib").util.find_spec("transformers") is not None
    rounds, repeats = args.rounds or (3 if args.quick else 9), 3 if args.quick else 10
    vocab = SHAPES["tiny"].vocab
    ids = token_blocks(SHAPES["tiny"], BATCH)
    rows, results = [], {}
    for strategy in ("token", "whole-word", "span"):
        candidates = {"workbench": workbench_masking(strategy, ids, vocab, repeats)}
        note = ""
        if transformers_ok and strategy != "span":
            try:
                candidates["hf"] = hf_masking(ids, vocab, repeats, whole_word=strategy == "whole-word")
            except (ValueError, TypeError, IndexError, NotImplementedError) as exc:
                note = f"HF collator failed: {str(exc)[:60]}"
        samples = interleave(candidates, rounds)
        wb = median_seconds(samples["workbench"]) / repeats
        hf = median_seconds(samples["hf"]) / repeats if "hf" in samples else None
        speedup = ratio(samples, "hf", "workbench") if hf else None
        rows.append([strategy, wb * 1e3, "-" if hf is None else hf * 1e3, "-" if speedup is None else speedup, note])
        results[strategy] = {"workbench_ms": wb * 1e3, "hf_ms": hf and hf * 1e3, "speedup": speedup,
                             "contamination": contamination(samples), "note": note}
    print_table(["strategy", "workbench ms", "HF collator ms", "x HF", "note"], rows,
                title=f"masking a {BATCH} x {SEQ_LEN} batch (median of {rounds} interleaved rounds)")
    share = share_of_tiny_step(rounds, repeats)
    results["tiny_step"] = share
    print_table(["tiny step ms", "span masking of its batch ms", "share"],
                [[share["step_ms"], share["span_masking_ms"], f"{100 * share['share']:.2f}%"]],
                title="masking inside a tiny training step (32 x 128, span: the dearest strategy)")
    save_result("masking", args, results)


if __name__ == "__main__":
    main()
