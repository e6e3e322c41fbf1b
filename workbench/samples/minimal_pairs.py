"""The bundled minimal-pair suite: grammatical and ungrammatical twins of the sample corpus' own sentences.

Every good sentence follows a template of `workbench.samples.corpus`, with its lexicon; its bad twin changes one
thing, BLiMP-style, so a model that learned the corpus' grammar prefers the good one:
- `agreement`: the verb agrees with its subject ("the dog runs." / "the dog run."), over verbs, is/are,
  was/were and has/have;
- `agreement-attractor`: the same with a noun of the other number between them ("the dog near the cats runs.");
- `agreement-relative`: across a relative clause ("the foxes that the wolf chases run.");
- `plural-number`: a plural noun after a number above one ("one cat, three cats." / "one cat, three cat.");
- `plural-irregular`: irregular plurals ("the plural of mouse is mice." / "... is mouses.");
- `word-order`: the determiner after its noun ("the dog runs." / "dog the runs.") or the object before the verb
  ("my friend wrote a letter." / "my friend a letter wrote.").
Output depends only on `random.Random(SEED)` and tuple order. `python -m workbench.samples.minimal_pairs
[OUTDIR]` regenerates resources/sample_minimal_pairs.tsv.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable, Iterator

from workbench.paths import resources_dir
from workbench.samples.corpus import (
    ADJECTIVES,
    ADVERBS,
    COPULAS,
    FILLER_ACTIONS,
    FILLER_SUBJECTS,
    HAVE,
    HAVE_OBJECTS,
    NOUNS,
    NUMBERS,
    PLURALS,
    PREPOSITIONS,
    TRANSITIVE_VERBS,
    VERBS,
    _atomic_write,
    ensure_file,
)

MINIMAL_PAIRS_FILENAME = "sample_minimal_pairs.tsv"
SEED = 3  # the corpus uses 0, the fine-tuning sets 1 and 2
PAIRS_PER_PHENOMENON = 50
# Regular-looking plurals that the language does not use; the corpus only ever has the right ones.
WRONG_PLURALS = {"child": "childs", "mouse": "mouses", "man": "mans", "woman": "womans", "goose": "gooses",
                 "wolf": "wolfs", "foot": "foots", "tooth": "tooths", "leaf": "leafs", "knife": "knifes",
                 "baby": "babys", "fox": "foxs"}

Pair = tuple[str, str, str]  # (good, bad, phenomenon)


def _predicate(rng: random.Random, plural: bool) -> tuple[str, str]:
    """A predicate agreeing with a subject of this number, and the same with the verb of the other number."""
    kind = rng.randrange(3)
    if kind == 0:
        verb, adverb = rng.choice(VERBS), rng.choice(ADVERBS)
        return verb[plural] + adverb, verb[not plural] + adverb
    if kind == 1:
        copula, adjective = rng.choice(COPULAS), rng.choice(ADJECTIVES)
        return f"{copula[plural]} {adjective}", f"{copula[not plural]} {adjective}"
    thing = rng.choice(HAVE_OBJECTS)
    return f"{HAVE[plural]} {thing}", f"{HAVE[not plural]} {thing}"


def _other(rng: random.Random, head: tuple[str, str]) -> tuple[str, str]:
    return rng.choice(tuple(pair for pair in NOUNS if pair != head))


def _agreement(rng: random.Random) -> Pair:
    noun, plural = rng.choice(NOUNS), rng.random() < 0.5
    good, bad = _predicate(rng, plural)
    return f"the {noun[plural]} {good}.", f"the {noun[plural]} {bad}.", "agreement"


def _attractor(rng: random.Random) -> Pair:
    noun, plural = rng.choice(NOUNS), rng.random() < 0.5
    subject = f"the {noun[plural]} {rng.choice(PREPOSITIONS)} the {_other(rng, noun)[not plural]}"
    good, bad = _predicate(rng, plural)
    return f"{subject} {good}.", f"{subject} {bad}.", "agreement-attractor"


def _relative(rng: random.Random) -> Pair:
    noun, plural, other_plural = rng.choice(NOUNS), rng.random() < 0.5, rng.random() < 0.5
    other, verb = _other(rng, noun)[other_plural], rng.choice(TRANSITIVE_VERBS)[other_plural]
    subject = f"the {noun[plural]} that the {other} {verb}"
    good, bad = _predicate(rng, plural)
    return f"{subject} {good}.", f"{subject} {bad}.", "agreement-relative"


def _plural_number(rng: random.Random) -> Pair:
    singular, plural = rng.choice(NOUNS)
    number = rng.choice(NUMBERS[2:])
    if rng.random() < 0.5:
        return f"one {singular}, {number} {plural}.", f"one {singular}, {number} {singular}.", "plural-number"
    return f"one {singular} and many {plural}.", f"one {singular} and many {singular}.", "plural-number"


def _plural_irregular(rng: random.Random) -> Pair:
    singular, plural = rng.choice(tuple(p for p in PLURALS if p[0] in WRONG_PLURALS))
    wrong = WRONG_PLURALS[singular]
    if rng.random() < 0.5:
        return (f"the plural of {singular} is {plural}.", f"the plural of {singular} is {wrong}.",
                "plural-irregular")
    number = rng.choice(NUMBERS[2:])
    return f"one {singular}, {number} {plural}.", f"one {singular}, {number} {wrong}.", "plural-irregular"


def _word_order(rng: random.Random) -> Pair:
    if rng.random() < 0.5:
        noun, plural = rng.choice(NOUNS), rng.random() < 0.5
        predicate, _ = _predicate(rng, plural)
        return f"the {noun[plural]} {predicate}.", f"{noun[plural]} the {predicate}.", "word-order"
    subject = rng.choice(FILLER_SUBJECTS)
    verb, rest = rng.choice(FILLER_ACTIONS).split(" ", 1)
    return f"{subject} {verb} {rest}.", f"{subject} {rest} {verb}.", "word-order"


PHENOMENA: tuple[Callable[[random.Random], Pair], ...] = (
    _agreement, _attractor, _relative, _plural_number, _plural_irregular, _word_order)


def _distinct(rng: random.Random, make: Callable[[random.Random], Pair], n: int) -> Iterator[Pair]:
    seen: set[Pair] = set()
    for _ in range(n * 50):  # the small templates run out of new pairs long before this
        pair = make(rng)
        if pair not in seen:
            seen.add(pair)
            yield pair
            if len(seen) == n:
                return


def minimal_pairs(per_phenomenon: int = PAIRS_PER_PHENOMENON, seed: int = SEED) -> list[Pair]:
    """`per_phenomenon` distinct (good, bad, phenomenon) pairs of each phenomenon, a pure function of `seed`."""
    rng = random.Random(seed)
    return [pair for make in PHENOMENA for pair in _distinct(rng, make, per_phenomenon)]


def write_minimal_pairs(path: Path, per_phenomenon: int = PAIRS_PER_PHENOMENON, seed: int = SEED) -> Path:
    """Write the suite as TSV: header `good\\tbad\\tphenomenon`."""
    rows = ["good\tbad\tphenomenon", *("\t".join(pair) for pair in minimal_pairs(per_phenomenon, seed))]
    return _atomic_write(path, "\n".join(rows) + "\n")


def ensure_minimal_pairs(fallback_dir: Path) -> Path:
    """The bundled suite, or one generated into `fallback_dir` when there is no resources folder."""
    return ensure_file(MINIMAL_PAIRS_FILENAME, fallback_dir, write_minimal_pairs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the bundled minimal-pair suite.")
    parser.add_argument("outdir", nargs="?", type=Path, default=resources_dir(), help="default: resources/")
    args = parser.parse_args(argv)
    path = write_minimal_pairs(args.outdir / MINIMAL_PAIRS_FILENAME)
    print(f"wrote {path} ({len(minimal_pairs())} pairs)")


if __name__ == "__main__":
    main()
