"""`corpus add|list|stats` and `tokenizer train|list|compare`: registering text and training tokenizers on it."""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import PreparationProgress, print_json, print_table, stderr
from workbench.cli.settings_args import add_settings, settings_from_args
from workbench.cli.tokenizer_lab_cmd import add_compare
from workbench.core.corpus import CorpusOptions
from workbench.jobs.corpora import add_corpus, get_corpus
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.settings.tokenizer import TokenizerConfig


def register(commands: argparse._SubParsersAction) -> None:
    corpus = commands.add_parser("corpus", help="add text files as a corpus, list corpora, show statistics")
    sub = corpus.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="register files or folders (.txt .md .jsonl .csv .tsv, optionally .gz)")
    add.add_argument("paths", nargs="+", metavar="PATH")
    add.add_argument("--name", help="name of the corpus (default: the first file's name)")
    add.add_argument("--field", default="text", help="JSONL field holding the text (default: text)")
    add.add_argument("--column", default="text", help="CSV/TSV column holding the text (default: text)")
    add.add_argument("--doc-mode", choices=("blank-line", "line"), default="blank-line",
                     help="in .txt/.md files, documents are separated by blank lines (default) or one per line")
    add_json_flag(add)
    add.set_defaults(handler=cmd_corpus_add)
    listing = sub.add_parser("list", help="list the corpora with their statistics")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_corpus_list)
    stats = sub.add_parser("stats", help="statistics of one corpus (read again from its files)")
    stats.add_argument("name")
    add_json_flag(stats)
    stats.set_defaults(handler=cmd_corpus_stats)

    tokenizer = commands.add_parser("tokenizer", help="train tokenizers on a corpus, list and compare them")
    sub = tokenizer.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = sub.add_parser("train", help="train a tokenizer (HuggingFace tokenizers) on a corpus")
    train.add_argument("--corpus", help="corpus name (default: the bundled sample)")
    add_settings(train, TokenizerConfig)
    add_json_flag(train)
    train.set_defaults(handler=cmd_tokenizer_train)
    listing = sub.add_parser("list", help="list trained tokenizers")
    add_json_flag(listing)
    listing.set_defaults(handler=cmd_tokenizer_list)
    add_compare(sub)


def cmd_corpus_add(args: argparse.Namespace) -> int:
    options = CorpusOptions(doc_mode=args.doc_mode, field=args.field, column=args.column)
    with open_workspace(args) as ws:
        record, scan = add_corpus(ws, args.paths, args.name, options)
    for problem in scan.problems:
        stderr.print(f"[yellow]warning:[/] {problem}")
    if args.json:
        print_json({**record.to_dict(), "files": scan.files})
    else:
        _print_stats(record.name, record.stats, len(scan.files))
    return 0


def cmd_corpus_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        get_corpus(ws, None)  # the bundled sample is always there
        corpora = ws.store.list_corpora()
    if args.json:
        print_json([c.to_dict() for c in corpora])
        return 0
    rows = [(c.id, c.name, c.stats["documents"], c.stats["words"], len(c.problems), ", ".join(c.paths)) for c in corpora]
    print_table("Corpora", ("id", "name", "documents", "words", "problems", "paths"), rows)
    return 0


def cmd_corpus_stats(args: argparse.Namespace) -> int:
    from workbench.jobs.corpora import rescan

    with open_workspace(args) as ws:
        record = get_corpus(ws, args.name)
        scan = rescan(ws, record)
    stats = scan.stats.to_dict()
    changed = scan.content_hash != record.content_hash
    if args.json:
        print_json({"name": record.name, **stats, "files": len(scan.files), "changed_since_added": changed,
                    "problems": [str(p) for p in scan.problems]})
        return 0
    _print_stats(record.name, stats, len(scan.files))
    for problem in scan.problems:
        stderr.print(f"[yellow]warning:[/] {problem}")
    if changed:
        stderr.print("note: the files changed since the corpus was added; caches will be rebuilt")
    return 0


def _print_stats(name: str, stats: dict, n_files: int) -> None:
    rows = [("files", f"{n_files:,}")] + [(k.replace("_", " "), f"{v:,}") for k, v in stats.items()]
    print_table(f"Corpus {name!r}", ("statistic", "value"), rows)


def cmd_tokenizer_train(args: argparse.Namespace) -> int:
    config = settings_from_args(TokenizerConfig, args)
    progress = PreparationProgress()
    with open_workspace(args) as ws:
        corpus = get_corpus(ws, args.corpus)
        try:
            record = train_tokenizer_for(ws, corpus, config, lambda done: progress("training tokenizer", done, None))
        finally:
            progress.close()
    if args.json:
        print_json(record.to_dict())
    else:
        stderr.print(f"tokenizer {record.id}: {record.type}, {record.vocab_size:,} tokens, in {record.path}")
    return 0


def cmd_tokenizer_list(args: argparse.Namespace) -> int:
    with open_workspace(args) as ws:
        tokenizers = ws.store.list_tokenizers()
        names = {c.id: c.name for c in ws.store.list_corpora()}
    if args.json:
        print_json([t.to_dict() for t in tokenizers])
        return 0
    rows = [(t.id, t.type, t.vocab_size, t.lowercase, names.get(t.corpus_id, t.corpus_id), t.path) for t in tokenizers]
    print_table("Tokenizers", ("id", "type", "vocab", "lowercase", "corpus", "path"), rows)
    return 0
