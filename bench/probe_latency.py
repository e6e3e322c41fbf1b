"""Interactive probe latency on CPU: fill-mask of a 32-token input and pseudo-perplexity of a 32-token sentence;
and the Attention view on a BERT-base shape (12 layers x 12 heads, 512 tokens).

A `small` model (16k vocabulary, random weights: latency does not depend on them) with a WordPiece tokenizer trained on the
bundled sample corpus, called through the engine functions the Probe panel calls (`fill_mask`,
`pseudo_log_likelihood` of workbench.core.probing). Calls run in groups; groups where other processes used
the CPU are re-run, and the median and p95 are over the single calls of the clean groups. Also timed: loading
the model from a checkpoint the way workbench.jobs.probe does on a cache miss (weights only, safetensors).
Targets (issue 6): fill-mask median < 30 ms, p95 < 60 ms; pseudo-perplexity median < 150 ms.

The Attention view (issue 13), in an offscreen window of 1280 x 800: the attention maps of a random `base` model
at 512 tokens (the worker's model call), their preparation for display (the worker's thumbnails, rollout and
maps without special tokens), the head grid's render (its 144 thumbnails shrunk and coloured, handed to the grid
and painted), and switching heads on the GUI thread (a new head picked, then the whole view repainted). Target:
the grid renders in < 300 ms, and a head switch stays under ~50 ms (no frozen window).

    python bench/probe_latency.py [--quick] [--threads N]
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

import safetensors.torch
import torch
from common import (
    bench_args,
    contamination,
    measure,
    percentile,
    print_table,
    save_result,
)

from workbench.core.checkpoints import MODEL_FILE, save_checkpoint
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import (
    AttentionMaps,
    attention_maps,
    fill_mask,
    pseudo_log_likelihood,
)
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import ensure_sample_corpus
from workbench.settings.model import preset_config
from workbench.settings.tokenizer import TokenizerConfig

N_TOKENS = 32
VIEW_TOKENS = 512


def sample_texts(limit: int) -> list[str]:
    path = ensure_sample_corpus(Path(tempfile.gettempdir()) / "mlm-workbench-bench")
    return [t for t in path.read_text(encoding="utf-8").split("\n\n") if t.strip()][:limit]


def sentence_of(tokenizer, texts: list[str], n_pieces: int) -> str:
    """Words of the corpus, in order, until they encode to exactly n_pieces pieces (specials not counted)."""
    words: list[str] = []
    for word in " ".join(texts).split():
        n = len(tokenizer.encode(" ".join(words + [word])))
        if n <= n_pieces:
            words.append(word)
        if n >= n_pieces:
            if n == n_pieces:
                return " ".join(words)
            words = words[1:]  # too long by a multi-piece word: slide on
    raise RuntimeError(f"no run of words encodes to {n_pieces} pieces")


def latencies(call, calls: int, group: int) -> tuple[list[float], list]:
    """Per-call seconds of clean groups of `group` calls."""
    times, samples = [], []
    call()  # warm-up: first-call allocations and oneDNN kernel choice
    for _ in range(max(1, calls // group)):
        def block() -> list[float]:
            out = []
            for _ in range(group):
                t0 = time.perf_counter()
                call()
                out.append(time.perf_counter() - t0)
            return out
        sample, values = measure(block)
        samples.append(sample)
        times += values
    return times, samples


def main() -> None:
    args = bench_args(__doc__.splitlines()[0])
    calls = 40 if args.quick else 300
    texts = sample_texts(2000)
    tokenizer = train_tokenizer(texts, TokenizerConfig(type="wordpiece", vocab_size=16000))
    # the sample corpus knows ~1k words; the model gets small's usual 16k-row vocabulary (head and softmax cost)
    config = preset_config("small", max(16000, tokenizer.vocab_size), 128)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    sentence = sentence_of(tokenizer, texts, N_TOKENS - 2)  # + [CLS] and [SEP] = 32 tokens
    words = sentence.split()
    masked = " ".join(words[: len(words) // 2] + ["[MASK]"] + words[len(words) // 2 + 1:])

    rows, results = [], {}
    for name, call in (("fill-mask (1 mask)", lambda: fill_mask(model, tokenizer, masked, top_k=5)),
                       ("pseudo-perplexity (32 copies)", lambda: pseudo_log_likelihood(model, tokenizer, sentence))):
        times, samples = latencies(call, calls, group=10)
        ms = [t * 1e3 for t in times]
        rows.append([name, len(ms), percentile(ms, 50), percentile(ms, 95), contamination(samples)["contaminated_blocks"]])
        results[name] = {"median_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "calls": len(ms),
                         "contamination": contamination(samples)}

    with tempfile.TemporaryDirectory() as run_dir:
        info = save_checkpoint(Path(run_dir), model, {"step": 1}, {"model": config.to_dict()})
        def load() -> None:
            fresh = BertForMaskedLM(config)
            safetensors.torch.load_model(fresh, str(info.path / MODEL_FILE), strict=True)
            fresh.eval()
        load_times, load_samples = latencies(load, 5 if args.quick else 20, group=5)
    load_ms = [t * 1e3 for t in load_times]
    rows.append(["checkpoint -> model (cache miss)", len(load_ms), percentile(load_ms, 50), percentile(load_ms, 95),
                 contamination(load_samples)["contaminated_blocks"]])
    results["model_load"] = {"median_ms": percentile(load_ms, 50), "p95_ms": percentile(load_ms, 95)}
    print_table(["call", "n", "median ms", "p95 ms", "contaminated groups"], rows,
                title=f"probe latency, small model (vocab {config.vocab_size}), {N_TOKENS}-token input")
    view_rows, results["attention_view"] = attention_view_rows(tokenizer, args.quick)
    print_table(["step", "n", "median ms", "p95 ms", "max ms", "contaminated groups"], view_rows,
                title=f"Attention view, random base model, {VIEW_TOKENS} tokens, 12 x 12 heads, offscreen 1280x800")
    save_result("probe_latency", args, results, vocab_size=config.vocab_size)


def timed_row(name: str, call, calls: int, group: int) -> tuple[list, dict]:
    times, samples = latencies(call, calls, group)
    ms = [t * 1e3 for t in times]
    dirty = contamination(samples)["contaminated_blocks"]
    return ([name, len(ms), percentile(ms, 50), percentile(ms, 95), max(ms), dirty],
            {"median_ms": percentile(ms, 50), "p95_ms": percentile(ms, 95), "max_ms": max(ms), "calls": len(ms),
             "contamination": contamination(samples)})


def attention_view_rows(tokenizer, quick: bool) -> tuple[list[list], dict]:
    """The Attention view's steps on a BERT-base-shaped input; see the module docstring."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from workbench.gui.panels.probe_attention import AttentionView
    from workbench.gui.panels.probe_common import ProbeContext
    from workbench.gui.workers import TaskRunner
    from workbench.views.attention_display import (
        THUMBNAIL_CELLS,
        prepare_attention,
        shrink,
        thumbnail_colours,
    )

    app = QApplication.instance() or QApplication([])
    config = preset_config("base", max(30522, tokenizer.vocab_size), VIEW_TOKENS)
    torch.manual_seed(0)
    model = BertForMaskedLM(config).eval()
    words = torch.randint(len(tokenizer.special_ids), tokenizer.vocab_size, (VIEW_TOKENS - 2,)).tolist()
    ids = [tokenizer.cls_id, *words, tokenizer.sep_id]
    maps = attention_maps(model, tokenizer, ids)
    display = prepare_attention(maps)
    runner = TaskRunner()
    view = AttentionView(ProbeContext(None, runner))  # no app state: the view is fed its maps directly
    view.resize(1280, 800)
    view.show()
    view.show_display(display)
    view.repaint()
    app.processEvents()

    def fresh_prepare() -> None:  # a new AttentionMaps each time: nothing cached from the last call
        prepare_attention(AttentionMaps(maps.tokens, maps.input_ids, maps.special, maps.probs))

    def grid_render() -> None:
        view.thumbnails.set_thumbnails(thumbnail_colours(shrink(maps.probs, THUMBNAIL_CELLS)))
        view.thumbnails.repaint()

    picks = itertools.cycle([(layer, head) for layer in range(12) for head in range(12)][::7])

    def head_switch() -> None:
        view.pick(*next(picks))
        view.repaint()

    choices = itertools.cycle(["mean", "rollout", 3])

    def aggregate_switch() -> None:
        view.head.setCurrentIndex(view.head.findData(next(choices)))
        view.repaint()

    def hide_toggle() -> None:
        view.hide_special.toggle()
        view.repaint()

    n = 4 if quick else 12
    steps = (("attention maps (worker: base model, 512 tokens)", lambda: attention_maps(model, tokenizer, ids), 2, 1),
             ("prepare for display (worker)", fresh_prepare, 2, 1),
             ("grid render: shrink + colour + paint 144 heads", grid_render, n, 4),
             ("grid repaint only (GUI)", view.thumbnails.repaint, n, 4),
             ("head switch + repaint (GUI)", head_switch, 4 * n, 8),
             ("mean / rollout / head switch (GUI)", aggregate_switch, 2 * n, 6),
             ("hide special tokens on/off (GUI)", hide_toggle, 2 * n, 4))
    rows, results = [], {}
    for name, call, calls, group in steps:
        row, results[name] = timed_row(name, call, calls if not quick else min(calls, 4), group)
        rows.append(row)
    runner.shutdown()
    view.close()
    return rows, results


if __name__ == "__main__":
    main()
