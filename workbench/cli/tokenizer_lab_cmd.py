"""`tokenizer compare`: the tokenizer lab on the command line. One or more tokenizers on the same text (a corpus,
a file or a pasted text): fertility and its histogram, split shares, UNK rates, unused vocabulary, longest
pieces, the vocabularies' overlap, and the first sentences cut by each, aligned word by word.
"""

from __future__ import annotations

import argparse

from workbench.cli.common import add_json_flag, open_workspace
from workbench.cli.output import fmt, print_json, print_table, stdout
from workbench.core.tokenizer_stats import HISTOGRAM_BINS, Comparison
from workbench.jobs.tokenizer_lab import DEFAULT_SENTENCES, compare


def add_compare(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("compare", help="fertility, UNK rate, unused vocabulary and segmentations of one or "
                                            "more tokenizers on the same text")
    parser.add_argument("tokenizers", nargs="+", metavar="TOKENIZER",
                        help="a tokenizer id (see `tokenizer list`) or a run's tokenizer as run:NAME")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", help="corpus name (default: the bundled sample)")
    source.add_argument("--file", metavar="PATH", help="a UTF-8 text file")
    source.add_argument("--text", help="a text given on the command line")
    parser.add_argument("--sentences", type=int, default=DEFAULT_SENTENCES, metavar="N",
                        help="how many of the text's first sentences to show cut by each "
                             f"(default: {DEFAULT_SENTENCES})")
    add_json_flag(parser)
    parser.set_defaults(handler=cmd_tokenizer_compare)


def cmd_tokenizer_compare(args: argparse.Namespace) -> int:
    if args.sentences < 0:
        raise ValueError(f"--sentences must be 0 or more; got {args.sentences}")
    with open_workspace(args) as ws:
        text, result = compare(ws, args.tokenizers, args.corpus, args.file, args.text, args.sentences)
    if args.json:
        print_json({"source": text.source, **result.to_dict()})
        return 0
    _print(text.source, result)
    return 0


def _print(source: str, result: Comparison) -> None:
    rows = [(s.name, f"{s.words:,}", fmt(s.fertility, 3), *(fmt(v, 3) for v in s.split_shares.values()),
             fmt(s.unk_rate, 4), fmt(s.unk_word_rate, 4), f"{s.vocab_size:,}", fmt(s.unused_share, 3),
             fmt(s.chars_per_piece, 2), fmt(s.renyi_efficiency, 3))
            for s in result.stats]
    print_table(f"Tokenizers on {source}", ("tokenizer", "words", "pieces/word", "1 piece", "2", "3", "4+",
                                             "UNK/piece", "UNK/word", "vocab", "unused", "chars/piece",
                                             "Rényi eff."), rows)
    bins = [str(n) for n in range(1, HISTOGRAM_BINS)] + [f"{HISTOGRAM_BINS}+"]
    print_table("Words by number of pieces", ("tokenizer", *bins),
                [(s.name, *(f"{c:,}" for c in s.histogram)) for s in result.stats])
    for s in result.stats:
        stdout.print(f"longest pieces of {s.name}: " + ", ".join(f"{p} ({n:,})" for p, n in s.longest))
    if result.overlap:
        print_table("Vocabulary overlap (specials left out, word-start markers made alike)",
                    ("a", "b", "shared", "Jaccard"), [(a, b, f"{n:,}", fmt(j, 3)) for a, b, n, j in result.overlap])
    for sentence in result.sentences:
        rows = [(word, *(" ".join(pieces[i]) for pieces in sentence.pieces)) for i, word in enumerate(sentence.words)]
        print_table(sentence.sentence, ("word", *(s.name for s in result.stats)), rows)
