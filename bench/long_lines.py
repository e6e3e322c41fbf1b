"""Long lines: peak RSS of corpus add (scan), tokenizer training and the token cache on one-line files.

Each file is one line with no newline (words from the sample corpus generator), or a gzip bomb: about 2 GB of
one repeated sentence, no newline, compressed to a few MB. A child process per file scans it, trains a WordPiece
tokenizer (vocab 2,000) on its documents and builds its token cache; after each stage it records its peak RSS
(ru_maxrss, so each figure includes the stages before it). Issue 14 item 13: under 500 MB for any file.

    python bench/long_lines.py [--quick]
"""

from __future__ import annotations

import gzip
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, bench_args, print_table, save_result

WORK_DIR = Path(tempfile.gettempdir()) / "mlm-workbench-bench" / "long-lines"


def one_line_file(megabytes: int) -> Path:
    """`megabytes` MB of generated words on a single line, made once."""
    from workbench.samples.corpus import generate_documents
    path = WORK_DIR / f"one-line-{megabytes}mb.txt"
    if not path.exists():
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        text = " ".join(" ".join(doc.split()) for doc in generate_documents(20_000, seed=3)) + " "
        with open(path.with_suffix(".partial"), "w", encoding="utf-8") as f:
            for _ in range(megabytes * 1_000_000 // len(text) + 1):
                f.write(text)
        path.with_suffix(".partial").rename(path)
    return path


def gzip_bomb(megabytes: int) -> Path:
    """About `megabytes` MB of one sentence repeated, no newline, gzip-compressed; made once."""
    path = WORK_DIR / f"bomb-{megabytes}mb.txt.gz"
    if not path.exists():
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        block = b"the same sentence again and again " * 30_000  # about 1 MB
        with gzip.open(path.with_suffix(".partial"), "wb", compresslevel=9) as f:
            for _ in range(megabytes * 1_000_000 // len(block)):
                f.write(block)
        path.with_suffix(".partial").rename(path)
    return path


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, cache_root: str) -> None:
    """Scan, train a tokenizer, build the token cache; print times and peak RSS after each stage as JSON."""
    from workbench.core.corpus import CorpusOptions, iter_documents, scan_corpus
    from workbench.core.token_cache import build_or_load_cache
    from workbench.core.tokenization import train_tokenizer
    from workbench.settings.tokenizer import TokenizerConfig
    options, result, started = CorpusOptions(), {"imports_mb": peak_mb()}, time.perf_counter()
    scan = scan_corpus([path], options)
    result.update(scan_s=time.perf_counter() - started, scan_mb=peak_mb(), documents=scan.stats.documents,
                  problems=[str(problem) for problem in scan.problems])
    if scan.files:
        started = time.perf_counter()
        tokenizer = train_tokenizer(iter_documents(scan.files, options), TokenizerConfig(vocab_size=2000))
        result.update(train_s=time.perf_counter() - started, train_mb=peak_mb())
        started = time.perf_counter()
        cache = build_or_load_cache(lambda: iter_documents(scan.files, options), scan.content_hash, tokenizer,
                                    Path(cache_root))
        result.update(cache_s=time.perf_counter() - started, cache_mb=peak_mb(), tokens=cache.n_tokens)
    print(json.dumps(result))


def run_child(path: Path) -> dict:
    with tempfile.TemporaryDirectory(dir=WORK_DIR) as cache_root:
        out = subprocess.run([sys.executable, __file__, "--child", str(path), cache_root],
                             capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:4])
        return
    args = bench_args(__doc__.splitlines()[0])
    files = {"one line, 20 MB": one_line_file(20), "gzip bomb, 200 MB": gzip_bomb(200)} if args.quick else {
        "one line, 50 MB": one_line_file(50), "one line, 200 MB": one_line_file(200),
        "gzip bomb, 2 GB": gzip_bomb(2000)}
    rows, results = [], {}
    for name, path in files.items():
        result = results[name] = {"file_mb": path.stat().st_size / 1e6, **run_child(path)}
        stages = ("imports_mb", "scan_mb", "train_mb", "cache_mb")
        stage = [f"{result[key]:.0f}" if key in result else "-" for key in stages]
        times = sum(result.get(key, 0.0) for key in ("scan_s", "train_s", "cache_s"))
        rows.append([name, f"{result['file_mb']:.1f}", result["documents"], *stage, f"{times:.0f}",
                     "; ".join(result["problems"])[:70]])
    headers = ["file", "size MB", "documents", "peak MB: imports", "+ scan", "+ tokenizer", "+ cache", "s"]
    print_table([*headers, "problems"], rows, title="peak RSS by stage (target: under 500 MB)")
    save_result("long_lines", args, results)


if __name__ == "__main__":
    main()
