"""The bundled fine-tuning demo sets: a sentence classification task and an entity tagging task.

Both are made by our own seeded generator over the sample corpus's invented world (its people, cities,
countries, animals and days, imported from `sample_corpus`), so a model pretrained on the sample corpus already
knows what the labels depend on. Classification (`subjects`): is the subject of the sentence a `person`, an
`animal` or a `place`? Templates are shared by all three labels and often hold a second entity of another
kind after the verb ("kira was near the cow on monday ."), so the label depends on which word is the subject
and what kind of thing it is, never on one word alone. Tagging (`entities`, CoNLL, IOB2): people (PER),
cities (CITY), countries (COUNTRY) and times (TIME, "monday morning" is B-TIME I-TIME); many slots accept any
entity kind ("we visited X ."). In both, some people, cities, countries (and animals) never occur in the
training file, only in the validation file: getting them right takes what pretraining learned about those
words from their contexts. Output depends only on `random.Random(seed)` and tuple order.
`python -m workbench.samples.tasks [OUTDIR]` regenerates the four files in resources/.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable

from workbench.paths import resources_dir
from workbench.samples.corpus import ANIMALS, COUNTRY_OF, DAYS, FILLER_ACTIONS, FILLER_SUBJECTS, PEOPLE, _atomic_write

SUBJECTS_TRAIN, SUBJECTS_VALIDATION = "sample_subjects_train.tsv", "sample_subjects_validation.tsv"
ENTITIES_TRAIN, ENTITIES_VALIDATION = "sample_entities_train.conll", "sample_entities_validation.conll"
SUBJECT_LABELS = ("person", "animal", "place")
ENTITY_TYPES = ("PER", "CITY", "COUNTRY", "TIME")
SIZES = {"train": (1500, 1200), "validation": (300, 300)}  # (subject sentences, entity sentences)
SEEDS = {"train": 1, "validation": 2}  # the corpus uses seed 0

NAMES = tuple(p[0] for p in PEOPLE)
ANIMAL_NAMES = tuple(a[0] for a in ANIMALS)
CITIES = tuple(COUNTRY_OF)
COUNTRIES = tuple(dict.fromkeys(COUNTRY_OF.values()))
# Never in the training file: the model meets them in validation only (pretraining has seen them).
HELD_OUT = {"PER": NAMES[-8:], "CITY": ("prague", "lima", "nairobi", "vienna", "seville", "montreal"),
            "COUNTRY": ("czechia", "peru", "kenya", "austria"), "ANIMAL": ("owl", "frog", "donkey", "bee")}

# ---- entity pools ------------------------------------------------------------------------------------------

Tagged = list[tuple[str, str]]
TIMES = ("morning", "evening", "night")


def _entity(kind: str, word: str) -> Tagged:
    return [(w, ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(word.split())]


def _words(text: str) -> Tagged:
    return [(w, "O") for w in text.split()]


class _Pools:
    """The entity words a split may use (training leaves the held-out ones out)."""

    def __init__(self, rng: random.Random, held_out: bool) -> None:
        keep = (lambda kind, words: words) if held_out else \
            (lambda kind, words: tuple(w for w in words if w not in HELD_OUT[kind]))
        self.rng = rng
        self.words = {"PER": keep("PER", NAMES), "CITY": keep("CITY", CITIES), "COUNTRY": keep("COUNTRY", COUNTRIES),
                      "ANIMAL": keep("ANIMAL", ANIMAL_NAMES)}

    def pick(self, kind: str) -> Tagged:
        return _entity(kind, self.rng.choice(self.words[kind]))

    def any(self) -> Tagged:
        return self.pick(self.rng.choice(("PER", "PER", "CITY", "COUNTRY")))

    def time(self) -> Tagged:
        day = self.rng.choice(DAYS)
        return _entity("TIME", day if self.rng.random() < 0.6 else f"{day} {self.rng.choice(TIMES)}")


# ---- subjects (classification) ------------------------------------------------------------------------------

SUBJECT_TEMPLATES = (  # {S} the subject, {O} another entity after the verb, {D} a day
    "{S} was quiet on {D} .", "{S} was busy all morning .", "{S} was near {O} on {D} .", "{S} is far from {O} .",
    "on {D} {S} was calm .", "after the rain {S} was quiet .", "{S} looked old next to {O} .",
    "{S} was happy on {D} .", "in the evening {S} was near {O} .", "{S} was not far from {O} .",
)


def _subject_word(rng: random.Random, kind: str, pools: _Pools) -> str:
    if kind == "animal":
        return "the " + rng.choice(pools.words["ANIMAL"])
    if kind == "person":
        return rng.choice(pools.words["PER"])
    return rng.choice(pools.words[rng.choice(("CITY", "CITY", "COUNTRY"))])


def generate_subjects(n: int, seed: int, held_out: bool) -> list[tuple[str, str]]:
    """`n` (sentence, label) pairs, labels in equal thirds: the kind of the sentence's subject."""
    rng = random.Random(seed)
    pools = _Pools(rng, held_out)
    rows = []
    for i in range(n):
        label = SUBJECT_LABELS[i % 3]
        other = rng.choice(tuple(k for k in SUBJECT_LABELS if k != label))
        text = rng.choice(SUBJECT_TEMPLATES).format(S=_subject_word(rng, label, pools), D=rng.choice(DAYS),
                                                    O=_subject_word(rng, other, pools))
        rows.append((text, label))
    rng.shuffle(rows)
    return rows


def write_subjects(path: Path, n: int, seed: int, held_out: bool) -> Path:
    """TSV with the header `sentence<TAB>label` (GLUE style: no quoting)."""
    lines = ["sentence\tlabel"] + [f"{text}\t{label}" for text, label in generate_subjects(n, seed, held_out)]
    return _atomic_write(path, "\n".join(lines) + "\n")


# ---- entities (tagging) -------------------------------------------------------------------------------------

# Templates: {P} person, {C} city, {K} country, {X} any of the three, {T} a time; the rest is plain words.
# None states where someone lives or which country a city is in, so no sentence contradicts the corpus.
ENTITY_TEMPLATES = (
    "{P} went to {C} .", "{P} wrote to us from {C} .", "{P} flew from {C} to {K} .", "{P} is going to {C} on {T} .",
    "we visited {X} on {T} .", "a letter came from {X} .", "everyone talks about {X} .", "{X} was quiet on {T} .",
    "{P} wrote a letter to {X} .", "{P} took the early train to {C} on {T} .", "{P} met {P} in {C} .",
    "{P} and {P} walked along the river .", "on {T} {P} visited {X} .", "my friend likes {X} .",
    "{P} has friends in {K} .", "the market in {C} was busy on {T} .", "i read a long book about {X} .",
)


def _entity_sentence(rng: random.Random, pools: _Pools) -> Tagged:
    if rng.random() < 0.1:  # sentences without entities, so "O" everywhere is learned too
        return _words(f"{rng.choice(FILLER_SUBJECTS)} {rng.choice(FILLER_ACTIONS)} .")
    fill: dict[str, Callable[[], Tagged]] = {"P": lambda: pools.pick("PER"), "C": lambda: pools.pick("CITY"),
                                             "K": lambda: pools.pick("COUNTRY"), "X": pools.any, "T": pools.time}
    tagged: Tagged = []
    for word in rng.choice(ENTITY_TEMPLATES).split():
        tagged += fill[word[1]]() if word.startswith("{") else _words(word)
    return tagged


def generate_entities(n: int, seed: int, held_out: bool) -> list[Tagged]:
    """`n` tagged sentences; with `held_out` False the HELD_OUT people, cities and countries never occur."""
    rng = random.Random(seed)
    pools = _Pools(rng, held_out)
    return [_entity_sentence(rng, pools) for _ in range(n)]


def write_entities(path: Path, n: int, seed: int, held_out: bool) -> Path:
    """CoNLL: `token tag` per line, a blank line after each sentence."""
    blocks = ["\n".join(f"{w} {t}" for w, t in sentence) + "\n" for sentence in generate_entities(n, seed, held_out)]
    return _atomic_write(path, "\n".join(blocks))


# ---- files --------------------------------------------------------------------------------------------------


def write_demo_tasks(outdir: Path) -> list[Path]:
    """Write the four demo files (train and validation of each task) into `outdir`."""
    outdir = Path(outdir)
    (n_train, e_train), (n_val, e_val) = SIZES["train"], SIZES["validation"]
    return [write_subjects(outdir / SUBJECTS_TRAIN, n_train, SEEDS["train"], held_out=False),
            write_subjects(outdir / SUBJECTS_VALIDATION, n_val, SEEDS["validation"], held_out=True),
            write_entities(outdir / ENTITIES_TRAIN, e_train, SEEDS["train"], held_out=False),
            write_entities(outdir / ENTITIES_VALIDATION, e_val, SEEDS["validation"], held_out=True)]


def demo_paths(task: str, fallback_dir: Path | None = None) -> tuple[Path, Path]:
    """(train, validation) of the demo set of `task` ("classify" or "tag"): the bundled files, else ones
    generated into `fallback_dir` (no resources folder, e.g. an installed wheel)."""
    names = {"classify": (SUBJECTS_TRAIN, SUBJECTS_VALIDATION), "tag": (ENTITIES_TRAIN, ENTITIES_VALIDATION)}
    if task not in names:
        raise ValueError(f"there is no demo set for task {task!r}; there are for {', '.join(names)}")
    bundled = [resources_dir() / name for name in names[task]]
    if all(p.is_file() for p in bundled) or fallback_dir is None:
        return bundled[0], bundled[1]
    target = [Path(fallback_dir) / name for name in names[task]]
    if not all(p.is_file() for p in target):
        write_demo_tasks(fallback_dir)
    return target[0], target[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the bundled fine-tuning demo sets.")
    parser.add_argument("outdir", nargs="?", type=Path, default=resources_dir(), help="default: resources/")
    for path in write_demo_tasks(parser.parse_args(argv).outdir):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
