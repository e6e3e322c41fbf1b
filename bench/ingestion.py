"""Corpus ingestion: tokenize and cache a generated corpus (MB/s, peak RSS), then reuse the cache.

A corpus of the requested size is generated once (the sample corpus generator's documents, repeated with a
per-copy prefix so every document is distinct) into the temp folder and kept for later runs. A child process
then does what preparing a training run does (workbench.jobs.pretrain.prepare_data, without the store):
scan (stats + content hash), encode the train and validation splits into token caches, pack blocks, count
tokens. Its peak RSS is the child's ru_maxrss. The scan is kept in the cache folder as the store keeps a
corpus' scan, so a second child on the same folder measures the data preparation a second run pays
(a rescan that finds the files unchanged + cache reuse; target < 2 s). With --full a 1 GB corpus is added:
peak RSS must stay under 1 GB and grow by no more than 10% from 100 MB to 1 GB (issue 6).

    python bench/ingestion.py [--quick] [--full]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, bench_args, contamination, measure, print_table, save_result

WORK_DIR = Path(tempfile.gettempdir()) / "mlm-workbench-bench"
BASE_DOCUMENTS = 60_000  # ~9 MB of distinct generated text, repeated with prefixes up to the size asked


def corpus_of(megabytes: int) -> Path:
    """A generated corpus of about `megabytes` MB, made once and kept in the temp folder."""
    from workbench.samples.corpus import generate_documents
    path = WORK_DIR / f"corpus-{megabytes}mb.txt"
    if path.exists():
        return path
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    base = list(generate_documents(BASE_DOCUMENTS, seed=7))
    partial, written, copy = path.with_suffix(".partial"), 0, 0
    with open(partial, "w", encoding="utf-8") as f:
        while written < megabytes * 1_000_000:
            for doc in base:
                text = f"part {copy} {doc}\n\n"
                f.write(text)
                written += len(text)
                if written >= megabytes * 1_000_000:
                    break
            copy += 1
    partial.rename(path)
    # a user's corpus exists before it is added: a file written within 2 s of a scan is never fingerprinted
    # (workbench.core.corpus._MTIME_TICK_NS) and would be read again on its next use, whatever the cache
    an_hour_ago = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(an_hour_ago, an_hour_ago))
    return path


def tokenizer_dir() -> Path:
    """A WordPiece tokenizer (16k) trained on the bundled sample corpus, made once."""
    from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer
    from workbench.samples.corpus import ensure_sample_corpus
    from workbench.settings.tokenizer import TokenizerConfig
    folder = WORK_DIR / "tokenizer-wordpiece-16k"
    if not (folder / "tokenizer.json").exists():
        texts = ensure_sample_corpus(WORK_DIR).read_text(encoding="utf-8").split("\n\n")
        train_tokenizer(texts, TokenizerConfig(type="wordpiece", vocab_size=16000)).save(folder)
    WorkbenchTokenizer.load(folder)
    return folder


def child(corpus: str, cache_root: str, tokenizer_folder: str) -> None:
    """Prepare the data as a training run does; print timings and peak RSS as JSON."""
    from workbench.core.corpus import CorpusOptions, CorpusScan, iter_split, rescan_corpus
    from workbench.core.packing import PackedBlocks
    from workbench.core.token_cache import build_or_load_cache
    from workbench.core.tokenization import WorkbenchTokenizer
    started = time.perf_counter()
    tokenizer = WorkbenchTokenizer.load(Path(tokenizer_folder))
    options = CorpusOptions()
    stored = Path(cache_root) / "corpus-scan.json"  # stands in for the corpus record's stored scan
    previous = CorpusScan.from_dict(json.loads(stored.read_text())) if stored.exists() else None
    scan = rescan_corpus([corpus], options, previous)
    scanned = time.perf_counter()
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(json.dumps(scan.to_dict()))
    n_tokens = 0
    for split in ("train", "validation"):
        cache = build_or_load_cache(lambda s=split: iter_split(scan.files, options, s, 0.02),
                                    f"{scan.content_hash}|{split}|0.02", tokenizer, Path(cache_root))
        blocks = PackedBlocks(cache, 128, tokenizer.cls_id, tokenizer.pad_id)
        blocks.get_batch(list(range(min(32, len(blocks)))))
        cache.token_counts(tokenizer.vocab_size)
        n_tokens += cache.n_tokens
    done = time.perf_counter()
    print(json.dumps({"scan_s": scanned - started, "encode_s": done - scanned, "total_s": done - started,
                      "tokens": n_tokens, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def run_child(corpus: Path, cache_root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(corpus), str(cache_root), str(tokenizer_dir())],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ingest(megabytes: int) -> tuple[list, dict]:
    corpus = corpus_of(megabytes)
    size_mb = corpus.stat().st_size / 1e6
    cache_root = WORK_DIR / f"cache-{megabytes}mb"
    shutil.rmtree(cache_root, ignore_errors=True)
    first_sample, first = measure(lambda: run_child(corpus, cache_root), retries=0)
    second_sample, second = measure(lambda: run_child(corpus, cache_root))
    shutil.rmtree(cache_root, ignore_errors=True)
    row = [f"{size_mb:.0f} MB", size_mb / first["total_s"], first["scan_s"], first["encode_s"], first["peak_rss_mb"],
           second["total_s"], second["scan_s"], second["peak_rss_mb"]]
    return row, {"corpus_mb": size_mb, "first": first, "second": second, "mb_per_s": size_mb / first["total_s"],
                 "contamination": contamination([first_sample, second_sample])}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
        return
    args = bench_args(__doc__.splitlines()[0], lambda p: p.add_argument(
        "--full", action="store_true", help="also a 1 GB corpus (several minutes; generated once, ~1 GB of disk)"))
    sizes = [10] if args.quick else [100] + ([1000] if args.full else [])
    rows, results = [], {}
    for megabytes in sizes:
        row, results[f"{megabytes}mb"] = ingest(megabytes)
        rows.append(row)
    print_table(["corpus", "MB/s", "scan s", "encode s", "peak RSS MB", "2nd run prep s", "2nd scan s",
                 "2nd peak RSS MB"], rows, title="tokenize + cache (first run), then reuse (second run)")
    if len(sizes) == 2:
        growth = results["1000mb"]["first"]["peak_rss_mb"] / results["100mb"]["first"]["peak_rss_mb"] - 1
        results["rss_growth_100mb_to_1gb"] = growth
        print(f"peak RSS growth 100 MB -> 1 GB: {100 * growth:+.1f}% (target <= +10%, and < 1024 MB)")
    save_result("ingestion", args, results)


if __name__ == "__main__":
    main()
