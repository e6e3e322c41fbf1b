"""The tokenizer lab on 10 MB of text: every figure of `tokenizer compare` for WordPiece, BPE and Unigram (8k each).

The text is WikiText-2 (valid + test, /work/shared/corpora/wikitext-2, 2.4 MB) repeated to 10 MB, every repeat
after the first with its words changed (reversed, then letters shifted by 1, 2, ...), so the 10 MB hold about
four times as many distinct units as the 2.4 MB do: more than real text of that size, which makes the work of
encoding the distinct units an upper bound. The three tokenizers are trained on the original 2.4 MB first (not
timed). Timed: counting the units of the 10 MB (once, shared by every tokenizer), then each tokenizer's figures
(`tokenizer_stats`), then the whole comparison (figures, vocabulary overlap, 5 aligned sentences). Target (issue
19): a 10 MB corpus under 10 s.

    python bench/tokenizer_lab.py [--quick] [--threads N]
"""

from __future__ import annotations

import time
from pathlib import Path

from common import bench_args, measure, print_table, save_result

from workbench.core.tokenization import train_tokenizer
from workbench.core.tokenizer_stats import compare_tokenizers, count_units, tokenizer_stats
from workbench.settings.tokenizer import TokenizerConfig

WIKITEXT = Path("/work/shared/corpora/wikitext-2")
TARGET_BYTES = 10_000_000


def _shifted(word: str, k: int) -> str:
    return "".join(chr((ord(c) - 97 + k) % 26 + 97) if "a" <= c <= "z" else c for c in word)


def ten_megabytes(base: str, size: int) -> str:
    """`base`, then altered copies of it, until `size` bytes."""
    parts, total, k = [base], len(base.encode()), 0
    while total < size:
        k += 1
        words = base.split(" ")
        altered = " ".join(w[::-1] if k == 1 else _shifted(w, k - 1) for w in words)
        parts.append(altered)
        total += len(altered.encode())
    return "\n".join(parts).encode()[:size].decode(errors="ignore")


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    if not WIKITEXT.is_dir():
        raise SystemExit(f"{WIKITEXT} is missing: this benchmark needs WikiText-2 there")
    base = "\n".join((WIKITEXT / name).read_text(encoding="utf-8") for name in ("valid.txt", "test.txt"))
    size = TARGET_BYTES // 10 if args.quick else TARGET_BYTES
    text = ten_megabytes(base, size)
    documents = [d for d in text.split("\n") if d.strip()]
    started = time.perf_counter()
    tokenizers = {kind: train_tokenizer([base], TokenizerConfig(type=kind, vocab_size=8000))
                  for kind in ("wordpiece", "bpe", "unigram")}
    print(f"trained three 8k tokenizers on {len(base) / 1e6:.1f} MB in {time.perf_counter() - started:.0f} s")
    counting, units = measure(lambda: count_units(documents))
    results = {"bytes": len(text.encode()), "distinct_units": len(units), "running_units": sum(units.values()),
               "count_units_s": counting.seconds, "count_units_others": counting.others}
    rows = [("count units (shared)", f"{counting.seconds:.2f}", f"{counting.others:.2f}", "")]
    for kind, tokenizer in tokenizers.items():
        sample, stats = measure(lambda t=tokenizer, k=kind: tokenizer_stats(k, t, units))
        total = counting.seconds + sample.seconds
        results[kind] = {"stats_s": sample.seconds, "with_counting_s": total, "others": sample.others,
                         "fertility": stats.fertility, "unk_rate": stats.unk_rate, "unused_share": stats.unused_share}
        rows.append((f"{kind} figures", f"{sample.seconds:.2f}", f"{sample.others:.2f}", f"{total:.2f}"))
    whole, _ = measure(lambda: compare_tokenizers(list(tokenizers), list(tokenizers.values()), units,
                                                  documents[:5]))
    results["compare_all_s"] = whole.seconds
    results["compare_all_with_counting_s"] = whole.seconds + counting.seconds
    rows.append(("compare all three (+overlap, sentences)", f"{whole.seconds:.2f}", f"{whole.others:.2f}",
                 f"{whole.seconds + counting.seconds:.2f}"))
    print_table(("step", "seconds", "other processes' cores", "with counting"), rows,
                title=f"Tokenizer lab on {len(text.encode()) / 1e6:.1f} MB ({len(units):,} distinct units)")
    save_result("tokenizer_lab", args, results)


if __name__ == "__main__":
    main()
