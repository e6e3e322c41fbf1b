"""The bundled sample corpus: English-like documents from our own seeded generator, and its cloze suite.

Nothing is copied from elsewhere. A small invented lexicon (animals and their sounds, the colours of things,
thirty people who each live in one city, the country of each city, opposites, plural forms, the days of the
week, small sums) is stated again and again in varied templates, mixed with subject-verb agreement sentences
whose subject is followed by a distractor of the other number ("the dog near the cats runs") and with plain
filler, so a tiny BERT (2 layers, hidden 128) visibly learns to fill [MASK] within minutes on a CPU. Output
depends only on `random.Random(seed)` and tuple order (never on hashing), so a seed gives the same bytes on
every machine. The cloze suite asks about facts the corpus states, some in wordings the corpus never uses.
`python -m workbench.samples.corpus [OUTDIR]` regenerates resources/sample_corpus.txt and sample_cloze.tsv.
"""

from __future__ import annotations

import argparse
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from workbench.paths import resources_dir

CORPUS_FILENAME = "sample_corpus.txt"
CLOZE_FILENAME = "sample_cloze.tsv"
DEFAULT_N_DOCUMENTS = 10_000  # about 1.5 MB

# Subjects of agreement sentences: every plural differs from its singular, so the number is visible.
NOUNS = (("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("horse", "horses"), ("child", "children"),
         ("mouse", "mice"), ("man", "men"), ("woman", "women"), ("fox", "foxes"), ("baby", "babies"),
         ("teacher", "teachers"), ("farmer", "farmers"), ("girl", "girls"), ("boy", "boys"), ("goose", "geese"),
         ("student", "students"), ("king", "kings"), ("doctor", "doctors"), ("wolf", "wolves"))
PLURALS = NOUNS + (("foot", "feet"), ("tooth", "teeth"), ("leaf", "leaves"), ("knife", "knives"))
VERBS = (("runs", "run"), ("sleeps", "sleep"), ("jumps", "jump"), ("sings", "sing"), ("swims", "swim"),
         ("waits", "wait"), ("eats", "eat"), ("plays", "play"), ("hides", "hide"), ("walks", "walk"),
         ("smiles", "smile"), ("laughs", "laugh"), ("cries", "cry"), ("listens", "listen"))
TRANSITIVE_VERBS = (("likes", "like"), ("sees", "see"), ("follows", "follow"), ("chases", "chase"),
                    ("helps", "help"), ("watches", "watch"))
COPULAS = (("is", "are"), ("was", "were"))
HAVE = ("has", "have")
PREPOSITIONS = ("near", "behind", "next to", "beside", "with", "in front of")
ADJECTIVES = ("happy", "tired", "hungry", "quiet", "sleepy", "angry", "busy", "calm")
HAVE_OBJECTS = ("a new toy", "a small bed", "many friends", "a warm coat", "a good name")
ADVERBS = ("", " every day", " at night", " in the garden", " quietly", " all morning")

# (animal, plural, sound, verb, verb without -s)
ANIMALS = (("cow", "cows", "moo", "moos", "moo"), ("dog", "dogs", "woof", "barks", "bark"),
           ("cat", "cats", "meow", "meows", "meow"), ("duck", "ducks", "quack", "quacks", "quack"),
           ("sheep", "sheep", "baa", "bleats", "bleat"), ("lion", "lions", "roar", "roars", "roar"),
           ("horse", "horses", "neigh", "neighs", "neigh"), ("pig", "pigs", "oink", "oinks", "oink"),
           ("owl", "owls", "hoot", "hoots", "hoot"), ("bee", "bees", "buzz", "buzzes", "buzz"),
           ("snake", "snakes", "hiss", "hisses", "hiss"), ("frog", "frogs", "croak", "croaks", "croak"),
           ("mouse", "mice", "squeak", "squeaks", "squeak"), ("wolf", "wolves", "howl", "howls", "howl"),
           ("hen", "hens", "cluck", "clucks", "cluck"), ("donkey", "donkeys", "bray", "brays", "bray"))
# (thing, plural or "" for mass nouns, colour)
COLOURED = (("banana", "bananas", "yellow"), ("lemon", "lemons", "yellow"), ("sky", "", "blue"),
            ("sea", "", "blue"), ("grass", "", "green"), ("leaf", "leaves", "green"), ("snow", "", "white"),
            ("milk", "", "white"), ("coal", "", "black"), ("crow", "crows", "black"),
            ("tomato", "tomatoes", "red"), ("cherry", "cherries", "red"), ("carrot", "carrots", "orange"),
            ("pumpkin", "pumpkins", "orange"), ("plum", "plums", "purple"), ("chocolate", "", "brown"))
COUNTRY_OF = {"paris": "france", "lyon": "france", "rome": "italy", "milan": "italy", "madrid": "spain",
              "seville": "spain", "berlin": "germany", "munich": "germany", "lisbon": "portugal",
              "vienna": "austria", "prague": "czechia", "oslo": "norway", "athens": "greece", "cairo": "egypt",
              "tokyo": "japan", "osaka": "japan", "delhi": "india", "mumbai": "india", "toronto": "canada",
              "montreal": "canada", "moscow": "russia", "lima": "peru", "nairobi": "kenya",
              "sydney": "australia", "london": "england"}
# (name, pronoun, city): invented people, each living in exactly one city.
PEOPLE = (("alice", "she", "paris"), ("bruno", "he", "rome"), ("clara", "she", "madrid"),
          ("dmitri", "he", "moscow"), ("elena", "she", "athens"), ("farid", "he", "cairo"),
          ("greta", "she", "berlin"), ("hugo", "he", "lyon"), ("ines", "she", "lisbon"),
          ("jonas", "he", "munich"), ("kira", "she", "tokyo"), ("lars", "he", "oslo"),
          ("mira", "she", "vienna"), ("nadia", "she", "delhi"), ("oscar", "he", "toronto"),
          ("petra", "she", "prague"), ("quentin", "he", "montreal"), ("rosa", "she", "lima"),
          ("samir", "he", "mumbai"), ("tilda", "she", "sydney"), ("umar", "he", "nairobi"),
          ("vera", "she", "seville"), ("walter", "he", "london"), ("ximena", "she", "milan"),
          ("yusuf", "he", "osaka"), ("zoe", "she", "paris"), ("amir", "he", "berlin"),
          ("bianca", "she", "rome"), ("caleb", "he", "london"), ("daria", "she", "tokyo"))
CITY_OF = {name: city for name, _, city in PEOPLE}
OPPOSITES = (("hot", "cold"), ("big", "small"), ("up", "down"), ("fast", "slow"), ("happy", "sad"),
             ("wet", "dry"), ("full", "empty"), ("hard", "soft"), ("loud", "quiet"), ("rich", "poor"),
             ("tall", "short"), ("thick", "thin"), ("strong", "weak"), ("early", "late"), ("open", "closed"),
             ("light", "dark"), ("left", "right"), ("day", "night"))
OPPOSITE_OF = {a: b for pair in OPPOSITES for a, b in (pair, pair[::-1])}
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

FILLER_SUBJECTS = ("my friend", "the old man", "a young woman", "our neighbour", "the children", "my sister",
                   "his brother", "the baker", "a tourist", "the whole family", "we", "they")
FILLER_ACTIONS = ("went to the market", "read a long book", "cooked soup for dinner", "cleaned the kitchen",
                  "wrote a letter", "played in the garden", "walked along the river", "visited the museum",
                  "fixed the old bicycle", "opened the window", "painted the fence", "bought fresh bread",
                  "watched a film", "sang a song", "planted some flowers", "found a lost key",
                  "took the early train", "made a cup of tea", "told a funny story", "carried the heavy bags")
FILLER_TIMES = ("", " in the morning", " after lunch", " last week", " yesterday", " in the evening", " on {day}")
PLACES = ("room", "street", "market", "kitchen", "park", "train", "shop", "house", "station", "library")
PLACE_STATES = ("busy", "quiet", "warm", "cold", "dark", "full", "empty", "clean", "small", "noisy")
THINGS_ON = ("some bread", "a cup of tea", "an old map", "a letter", "a bowl of soup", "a small box", "a pencil",
             "a blue hat", "a bag of apples", "a candle")
SURFACES = ("table", "shelf", "floor", "chair", "bed", "desk", "window sill")
# Framings vary the wording around a fact so exact sentences repeat less while the fact itself recurs.
FRAMES = ("everyone knows that ", "it is true that ", "we learned that ", "i read that ",
          "my teacher told us that ", "as you know, ")
FRAME_PROBABILITY = 0.25


@dataclass
class _Doc:
    """What a document has said so far, so later sentences can refer back to its person."""

    person: tuple[str, str, str]
    mentioned: bool = False


@dataclass(frozen=True)
class ClozeItem:
    """One fill-in item: `sentence` holds one [MASK] standing for one whole word; `answers` are right fills."""

    sentence: str
    answers: tuple[str, ...]
    group: str


def _framed(rng: random.Random, fact: str) -> str:
    return rng.choice(FRAMES) + fact if rng.random() < FRAME_PROBABILITY else fact


def _an(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _agreement(rng: random.Random, doc: _Doc) -> str:
    plural = rng.random() < 0.5
    article = "a" if not plural and rng.random() < 0.1 else "the"
    subject = f"{article} {rng.choice(NOUNS)[plural]}"
    kind = rng.random()
    if kind < 0.55:  # a distractor noun, usually of the other number, between subject and verb
        other = plural if rng.random() < 0.3 else not plural
        subject += f" {rng.choice(PREPOSITIONS)} the {_other_noun(rng, subject)[other]}"
    elif kind < 0.7:
        other = rng.random() < 0.5
        subject += f" that the {_other_noun(rng, subject)[other]} {rng.choice(TRANSITIVE_VERBS)[other]}"
    return f"{subject} {_predicate(rng, plural)}."


def _other_noun(rng: random.Random, subject: str) -> tuple[str, str]:
    head = subject.split()[1]
    return rng.choice(tuple(pair for pair in NOUNS if head not in pair))


def _predicate(rng: random.Random, plural: bool) -> str:
    kind = rng.random()
    if kind < 0.45:
        return rng.choice(VERBS)[plural] + rng.choice(ADVERBS)
    if kind < 0.85:
        return f"{rng.choice(COPULAS)[plural]} {rng.choice(ADJECTIVES)}"
    return f"{HAVE[plural]} {rng.choice(HAVE_OBJECTS)}"


def _person(rng: random.Random, doc: _Doc) -> str:
    name, pronoun, city = doc.person
    if doc.mentioned and rng.random() < 0.3:
        template = rng.choice(("{pronoun} has a small house in {city}.", "{pronoun} has many friends in {city}.",
                               "{pronoun} works in {city}."))
    else:
        template = rng.choice(("{name} lives in {city}.", "{name} is from {city}.", "{city} is the home of {name}.",
                               "{name} has a small house in {city}.", "{name} lives in {city}, a city in {country}.",
                               "in {city}, {name} has many friends.", "{name} has lived in {city} for many years."))
    doc.mentioned = True
    return _framed(rng, template.format(name=name, pronoun=pronoun, city=city, country=COUNTRY_OF[city]))


def _country(rng: random.Random, doc: _Doc) -> str:
    city = doc.person[2] if doc.mentioned and rng.random() < 0.5 else rng.choice(tuple(COUNTRY_OF))
    template = rng.choice(("{city} is a city in {country}.", "{city} is in {country}.",
                           "the city of {city} is in {country}.", "{city} lies in {country}.",
                           "{city} is one of the cities of {country}."))
    return _framed(rng, template.format(city=city, country=COUNTRY_OF[city]))


def _animal(rng: random.Random, doc: _Doc) -> str:
    animal, plural, sound, verb, verb_base = rng.choice(ANIMALS)
    template = rng.choice(("the {animal} says {sound}.", "{an} {animal} says {sound}.", "the {animal} goes {sound}.",
                           "{plural} say {sound}.", "the sound of {an} {animal} is {sound}.",
                           "the {animal} makes the sound {sound}.", "the {animal} {verb}.", "{plural} {verb_base}.",
                           "when the {animal} is hungry it says {sound}.", "every {animal} says {sound}."))
    return _framed(rng, template.format(animal=animal, an=_an(animal), plural=plural, sound=sound, verb=verb,
                                        verb_base=verb_base))


def _colour(rng: random.Random, doc: _Doc) -> str:
    thing, plural, colour = rng.choice(COLOURED)
    if plural:
        template = rng.choice(("the {thing} is {colour}.", "a {thing} is {colour}.", "{plural} are {colour}.",
                               "the colour of a {thing} is {colour}.", "ripe {plural} are {colour}.",
                               "{name} ate {an} {colour} {thing}.", "{name} bought some {colour} {plural}."))
    else:
        template = rng.choice(("the {thing} is {colour}.", "the colour of the {thing} is {colour}.",
                               "the {thing} is always {colour}.", "{name} looked at the {colour} {thing}."))
    name = doc.person[0] if rng.random() < 0.5 else rng.choice(PEOPLE)[0]
    return _framed(rng, template.format(thing=thing, plural=plural, colour=colour, an=_an(colour), name=name))


def _opposite(rng: random.Random, doc: _Doc) -> str:
    a, b = rng.choice(OPPOSITES)[:: rng.choice((1, -1))]
    template = rng.choice(("{a} is the opposite of {b}.", "the opposite of {a} is {b}.", "{a} and {b} are opposites.",
                           "the word {a} means the opposite of {b}."))
    return _framed(rng, template.format(a=a, b=b))


def _weekday(rng: random.Random, doc: _Doc) -> str:
    i = rng.randrange(len(DAYS))
    if rng.random() < 0.15:
        days = [DAYS[(i + k) % len(DAYS)] for k in range(rng.randint(3, 4))]
        return "first comes " + ", then ".join(days) + "."
    template = rng.choice(("after {day} comes {next}.", "{next} comes after {day}.", "the day after {day} is {next}.",
                           "the day before {next} is {day}.", "{day} is followed by {next}."))
    return _framed(rng, template.format(day=DAYS[i], next=DAYS[(i + 1) % len(DAYS)]))


def _arithmetic(rng: random.Random, doc: _Doc) -> str:
    a = rng.randrange(len(NUMBERS) - 1)
    b = rng.randrange(len(NUMBERS) - a)  # sums stay within ten
    template = rng.choice(("{a} plus {b} is {c}.", "{a} plus {b} equals {c}.", "{c} minus {b} is {a}.",
                           "if you add {a} and {b} you get {c}.", "after {a} comes {a1}."))
    return _framed(rng, template.format(a=NUMBERS[a], b=NUMBERS[b], c=NUMBERS[a + b], a1=NUMBERS[a + 1]))


def _plural(rng: random.Random, doc: _Doc) -> str:
    singular, plural = rng.choice(PLURALS)
    if rng.random() < 0.5:
        return _framed(rng, f"the plural of {singular} is {plural}.")
    template = rng.choice(("one {s}, {n} {p}.", "one {s} and many {p}.", "{name} saw one {s} and {n} {p}."))
    return template.format(s=singular, p=plural, n=rng.choice(NUMBERS[2:]), name=doc.person[0])


def _filler(rng: random.Random, doc: _Doc) -> str:
    kind = rng.random()
    if kind < 0.5:
        if doc.mentioned and rng.random() < 0.3:
            subject = doc.person[1]
        elif rng.random() < 0.3:
            subject, doc.mentioned = doc.person[0], True
        else:
            subject = rng.choice(FILLER_SUBJECTS)
        time = rng.choice(FILLER_TIMES).format(day=rng.choice(DAYS))
        return f"{subject} {rng.choice(FILLER_ACTIONS)}{time}."
    if kind < 0.75:
        time = rng.choice(FILLER_TIMES).format(day=rng.choice(DAYS))
        return f"the {rng.choice(PLACES)} was {rng.choice(PLACE_STATES)}{time}."
    return f"there was {rng.choice(THINGS_ON)} on the {rng.choice(SURFACES)}."


# Each family's share of sentences; facts recur often enough for a small model to pick them up.
FAMILIES: tuple[tuple[Callable[[random.Random, _Doc], str], float], ...] = (
    (_agreement, 0.20), (_person, 0.15), (_country, 0.08), (_animal, 0.10), (_colour, 0.10),
    (_opposite, 0.06), (_weekday, 0.07), (_arithmetic, 0.04), (_plural, 0.05), (_filler, 0.15))
_FAMILY_FUNCS = tuple(f for f, _ in FAMILIES)
_FAMILY_WEIGHTS = tuple(w for _, w in FAMILIES)


def _document(rng: random.Random) -> str:
    doc = _Doc(rng.choice(PEOPLE))
    main = rng.choices(_FAMILY_FUNCS, _FAMILY_WEIGHTS)[0]
    sentences = [main(rng, doc)]
    for _ in range(rng.randint(2, 5)):
        family = main if rng.random() < 0.5 else rng.choices(_FAMILY_FUNCS, _FAMILY_WEIGHTS)[0]
        sentences.append(family(rng, doc))
    return " ".join(sentences)


def generate_documents(n_documents: int, seed: int = 0) -> Iterator[str]:
    """Yield `n_documents` documents (one line of 3-6 sentences each), a pure function of `seed`."""
    rng = random.Random(seed)
    for _ in range(n_documents):
        yield _document(rng)


def _atomic_write(path: Path, text: str) -> Path:
    # Written beside the target and renamed, so a reader never sees half a file; "\n" on every platform.
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def write_sample_corpus(path: Path, n_documents: int = DEFAULT_N_DOCUMENTS, seed: int = 0) -> Path:
    """Write the corpus: documents separated by blank lines (the corpus reader's blank-line mode)."""
    return _atomic_write(path, "\n\n".join(generate_documents(n_documents, seed)) + "\n")


def _agreement_items() -> list[ClozeItem]:
    # (head noun, head plural?, preposition, distractor, distractor plural?, rest); before an adjective
    # both tenses fit ("is"/"was"), so only the number is tested.
    specs = (("dog", 0, "near", "cat", 1, "happy"), ("dog", 1, "near", "cat", 0, "happy"),
             ("teacher", 0, "with", "student", 1, "tired"), ("teacher", 1, "with", "student", 0, "tired"),
             ("child", 1, "behind", "man", 0, "hungry"), ("mouse", 0, "next to", "goose", 1, "a small bed"),
             ("woman", 1, "beside", "baby", 0, "many friends"), ("king", 0, "in front of", "farmer", 1, "angry"),
             ("fox", 1, "near", "wolf", 0, "quiet"), ("girl", 0, "behind", "boy", 1, "busy"),
             ("doctor", 0, "with", "child", 1, "a warm coat"), ("bird", 1, "beside", "horse", 0, "calm"))
    noun = dict(NOUNS)
    items = []
    for head, head_pl, prep, other, other_pl, rest in specs:
        head_word = noun[head] if head_pl else head
        other_word = noun[other] if other_pl else other
        forms = (HAVE[head_pl],) if rest in HAVE_OBJECTS else tuple(pair[head_pl] for pair in COPULAS)
        items.append(ClozeItem(f"the {head_word} {prep} the {other_word} [MASK] {rest}.", forms, "agreement"))
    return items


# Held-out wordings (never used in the corpus): "the little owl said", "in the picture the plum was",
# "petra calls ... home", "the city where samir lives is", "to visit lisbon you must travel to",
# "yesterday was tuesday, so today is", "today is saturday, so tomorrow is".
def _world_items() -> list[ClozeItem]:
    sound = {a[0]: a[2] for a in ANIMALS}
    colour = {thing: c for thing, _, c in COLOURED}
    items = [ClozeItem(f"the {a} says [MASK].", (sound[a],), "animal-sound")
             for a in ("cow", "dog", "cat", "duck", "sheep", "pig")]
    items += [ClozeItem(f"the little {a} said [MASK].", (sound[a],), "animal-sound") for a in ("owl", "frog")]
    items += [ClozeItem(sentence, (colour[thing],), "colour") for sentence, thing in (
        ("the sky is [MASK].", "sky"), ("bananas are [MASK].", "banana"), ("the snow is [MASK].", "snow"),
        ("the colour of the grass is [MASK].", "grass"), ("a carrot is [MASK].", "carrot"),
        ("tomatoes are [MASK].", "tomato"), ("in the picture the plum was [MASK].", "plum"),
        ("in the picture the coal was [MASK].", "coal"))]
    return items


def _place_items() -> list[ClozeItem]:
    items = [ClozeItem(f"{p} lives in [MASK].", (CITY_OF[p],), "city") for p in ("alice", "greta", "oscar", "rosa")]
    items += [ClozeItem(f"{p} is from [MASK].", (CITY_OF[p],), "city") for p in ("bruno", "kira")]
    items += [ClozeItem(f"{p} calls [MASK] home.", (CITY_OF[p],), "city") for p in ("petra", "walter")]
    items += [ClozeItem(f"the city where {p} lives is [MASK].", (CITY_OF[p],), "city") for p in ("samir", "elena")]
    items += [ClozeItem(f"{c} is a city in [MASK].", (COUNTRY_OF[c],), "country") for c in ("paris", "tokyo")]
    items += [ClozeItem(f"{c} is in [MASK].", (COUNTRY_OF[c],), "country") for c in ("rome", "cairo")]
    items += [ClozeItem(f"[MASK] is a city in {k}.", tuple(c for c in COUNTRY_OF if COUNTRY_OF[c] == k), "country")
              for k in ("japan", "canada")]
    items += [ClozeItem(f"to visit {c} you must travel to [MASK].", (COUNTRY_OF[c],), "country")
              for c in ("lisbon", "nairobi")]
    return items


def _word_items() -> list[ClozeItem]:
    plural = dict(PLURALS)
    items = [ClozeItem(f"the opposite of {a} is [MASK].", (OPPOSITE_OF[a],), "opposite")
             for a in ("hot", "big", "full", "strong")]
    items += [ClozeItem(f"[MASK] is the opposite of {a}.", (OPPOSITE_OF[a],), "opposite") for a in ("fast", "early")]
    items.append(ClozeItem("wet and [MASK] are opposites.", (OPPOSITE_OF["wet"],), "opposite"))
    items += [ClozeItem(sentence, (day,), "weekday") for sentence, day in (
        ("after monday comes [MASK].", "tuesday"), ("the day before friday is [MASK].", "thursday"),
        ("the day after sunday is [MASK].", "monday"), ("[MASK] comes after wednesday.", "thursday"),
        ("yesterday was tuesday, so today is [MASK].", "wednesday"),
        ("today is saturday, so tomorrow is [MASK].", "sunday"))]
    items += [ClozeItem(f"the plural of {s} is [MASK].", (plural[s],), "plural") for s in ("mouse", "child", "wolf")]
    items += [ClozeItem("one goose, two [MASK].", (plural["goose"],), "plural"),
              ClozeItem("the plural of [MASK] is feet.", ("foot",), "plural")]
    items += [ClozeItem(sentence, (NUMBERS[n],), "arithmetic") for sentence, n in (
        ("two plus three is [MASK].", 5), ("four plus four is [MASK].", 8), ("seven minus two is [MASK].", 5),
        ("if you add one and two you get [MASK].", 3))]
    return items


def cloze_items() -> list[ClozeItem]:
    """The cloze suite: about 70 items over facts the corpus states; some use wordings it never uses."""
    return _agreement_items() + _world_items() + _place_items() + _word_items()


def write_cloze_suite(path: Path) -> Path:
    """Write the cloze suite as TSV: header `sentence\\tanswers\\tgroup`, answers joined by `|`."""
    rows = ["sentence\tanswers\tgroup"]
    rows += [f"{item.sentence}\t{'|'.join(item.answers)}\t{item.group}" for item in cloze_items()]
    return _atomic_write(path, "\n".join(rows) + "\n")


def sample_corpus_path() -> Path:
    """Where the bundled corpus lives in a checkout (resources/); it may be absent in an installed package."""
    return resources_dir() / CORPUS_FILENAME


def ensure_file(filename: str, fallback_dir: Path, write: Callable[[Path], Path]) -> Path:
    bundled = resources_dir() / filename
    if bundled.is_file():
        return bundled
    target = Path(fallback_dir) / filename
    return target if target.is_file() else write(target)


def ensure_sample_corpus(fallback_dir: Path) -> Path:
    """The bundled corpus, or (no resources folder, e.g. a wheel install) one generated into `fallback_dir`."""
    return ensure_file(CORPUS_FILENAME, fallback_dir, write_sample_corpus)


def ensure_cloze_suite(fallback_dir: Path) -> Path:
    """The bundled cloze suite, or one generated into `fallback_dir` when there is no resources folder."""
    return ensure_file(CLOZE_FILENAME, fallback_dir, write_cloze_suite)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate the bundled sample corpus and cloze suite.")
    parser.add_argument("outdir", nargs="?", type=Path, default=resources_dir(), help="default: resources/")
    args = parser.parse_args(argv)
    corpus = write_sample_corpus(args.outdir / CORPUS_FILENAME)
    cloze = write_cloze_suite(args.outdir / CLOZE_FILENAME)
    print(f"wrote {corpus} ({corpus.stat().st_size:,} bytes) and {cloze} ({len(cloze_items())} items)")


if __name__ == "__main__":
    main()
