"""Ranking heads by importance on a BERT-base shape: 144 heads (12 layers x 12), each switched off in turn, on one
sentence with one [MASK], as `rank-heads` and the Probe panel's "Rank heads by importance" run it.

The model is a random-init `base` (12 x 768, 12 heads, 30,522-token vocabulary: the time does not depend on the
weights) with a WordPiece tokenizer trained on the bundled sample corpus; the sentence is corpus words that
encode to N pieces (16 and 32, with [CLS] and [SEP]), its middle word masked. Timed: `rank_heads` (each layer's
12 heads as one batch, started from the intact hidden state entering that layer, zero and mean ablation) and,
for reference, the direct way (144 fill-mask calls, each a full forward with one head off). Each call is one
block, timed by the wall clock and by this process's CPU time, with what other processes used meanwhile: on
shared cores the CPU time of a one-thread run (--threads 1) is what a quiet core would take. Target (issue 19):
144 heads x 1 sentence in under 10 s on this CPU.

    python bench/rank_heads.py [--quick] [--threads N] [--rounds R]
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torch
from common import bench_args, contamination, measure, print_table, save_result

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.ablation import head_mask_for, rank_heads
from workbench.core.probing.encoding import encode_text, mask_positions
from workbench.core.probing.fill_mask import mask_probabilities
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import ensure_sample_corpus
from workbench.settings.model import preset_config
from workbench.settings.tokenizer import TokenizerConfig

LENGTHS = (16, 32)
TARGET_S = 10.0


def masked_sentence(tokenizer, texts: list[str], n_tokens: int) -> str:
    """Corpus words, in order, that encode to n_tokens - 2 pieces, the middle word replaced by [MASK]."""
    words: list[str] = []
    for word in " ".join(texts).split():
        words.append(word)
        while len(tokenizer.encode(" ".join(words))) > n_tokens - 2:
            words = words[1:]
        if len(tokenizer.encode(" ".join(words))) == n_tokens - 2 and len(words) > 2:
            middle = len(words) // 2
            candidate = " ".join(words[:middle] + ["[MASK]"] + words[middle + 1:])
            if len(encode_text(tokenizer, candidate)) == n_tokens:
                return candidate
    raise RuntimeError(f"no sentence of {n_tokens} tokens")


def direct_way(model: BertForMaskedLM, ids: list[int], mask_id: int) -> None:
    positions = mask_positions(ids, mask_id)
    for layer in range(model.config.num_hidden_layers):
        for head in range(model.config.num_attention_heads):
            mask_probabilities(model, ids, positions, head_mask_for(model, [(layer, head)]))


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    rounds = args.rounds or (1 if args.quick else 3)
    corpus = ensure_sample_corpus(Path(tempfile.gettempdir()) / "mlm-workbench-bench")
    texts = [t for t in corpus.read_text(encoding="utf-8").split("\n\n") if t.strip()][:2000]
    tokenizer = train_tokenizer(texts, TokenizerConfig(type="wordpiece", vocab_size=16000))
    torch.manual_seed(0)
    model = BertForMaskedLM(preset_config("base", 30522, 512)).eval()
    rows, results = [], {}
    for n_tokens in LENGTHS:
        sentence = masked_sentence(tokenizer, texts, n_tokens)
        ids = encode_text(tokenizer, sentence)
        calls = {f"rank_heads zero, {n_tokens} tokens": lambda: rank_heads(model, tokenizer, sentence, mode="zero"),
                 f"rank_heads mean, {n_tokens} tokens": lambda: rank_heads(model, tokenizer, sentence, mode="mean")}
        if n_tokens == LENGTHS[0]:
            calls[f"direct: 144 forwards, {n_tokens} tokens"] = lambda: direct_way(model, ids, tokenizer.mask_id)
        for name, call in calls.items():
            call()  # warm-up
            samples, cpu = [], []
            for _ in range(rounds):
                start = time.process_time()
                samples.append(measure(call, retries=0)[0])
                cpu.append(time.process_time() - start)
            seconds = [s.seconds for s in samples]
            results[name] = {"median_s": statistics.median(seconds), "max_s": max(seconds),
                             "median_cpu_s": statistics.median(cpu), "rounds": len(seconds),
                             "contamination": contamination(samples), "target_s": TARGET_S}
            rows.append([name, statistics.median(seconds), statistics.median(cpu),
                         contamination(samples)["max_other_cores"]])
    print_table(["call (144 heads, 1 sentence)", "median wall s", "median CPU s", "other cores busy (max)"], rows,
                title="Rank heads on a random-init base model")
    save_result("rank_heads", args, results, model="random-init base (12x768, 12 heads, vocab 30522)")


if __name__ == "__main__":
    main()
