"""Minimal-pair scoring speed: 1,000 pairs of the sample grammar scored by PLL on a `small` model (4 layers, hidden
256, WordPiece 8k trained on the bundled sample corpus; random weights: the speed does not depend on them) through
`evaluate_pairs`, as `score-suite` does on one checkpoint. Target (issue 19): under 60 s on this CPU.

    python bench/score_suite.py [--quick] [--threads N]
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from common import bench_args, measure, print_table, save_result

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.minimal_pairs import MinimalPair, PairSuite, evaluate_pairs
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import ensure_sample_corpus
from workbench.samples.minimal_pairs import minimal_pairs
from workbench.settings.model import preset_config
from workbench.settings.tokenizer import TokenizerConfig

N_PAIRS = 1000


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    corpus = ensure_sample_corpus(Path(tempfile.gettempdir()) / "mlm-workbench-bench").read_text(encoding="utf-8")
    tokenizer = train_tokenizer(corpus.split("\n\n"), TokenizerConfig(vocab_size=8000))
    torch.manual_seed(0)
    model = BertForMaskedLM(preset_config("small", tokenizer.vocab_size, 128)).eval()
    n = 100 if args.quick else N_PAIRS
    pairs = [MinimalPair(*pair) for pair in minimal_pairs(per_phenomenon=200)][:n]
    suite = PairSuite("bench", "0" * 64, pairs)
    rows, results = [], {"pairs": n, "threads": torch.get_num_threads()}
    for method in ("original", "word-l2r"):
        sample, result = measure(lambda m=method: evaluate_pairs(model, tokenizer, suite, m), retries=1)
        results[method] = {"seconds": sample.seconds, "others": sample.others, "pairs_per_s": n / sample.seconds}
        rows.append((method, f"{sample.seconds:.1f}", f"{n / sample.seconds:.0f}", f"{sample.others:.2f}"))
    print_table(("method", "seconds", "pairs/s", "other processes' cores"), rows,
                title=f"{n} minimal pairs by PLL on `small`")
    save_result("score_suite", args, results)


if __name__ == "__main__":
    main()
