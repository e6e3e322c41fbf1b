"""The sample corpus generator: determinism, the committed files, and a cloze suite the corpus really answers.

Facts are checked against the corpus text itself (not against the generator's tables): each relation is read
out of the corpus with a regular expression, must never be contradicted, and must give each cloze answer.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from workbench.paths import resources_dir
from workbench.samples import corpus as sc

# group -> a corpus wording whose two groups are (key, value) of the relation the group asks about.
RELATIONS = {
    "city": r"(\w+) lives in (\w+)",
    "country": r"(\w+) is a city in (\w+)",
    "animal-sound": r"the (\w+) says (\w+)",
    "colour": r"the colour of (?:the|a) (\w+) is (\w+)",
    "opposite": r"the opposite of (\w+) is (\w+)",
    "weekday": r"after (\w+) comes (\w+)",
    "plural": r"the plural of (\w+) is (\w+)",
    "arithmetic": r"(\w+ plus \w+) is (\w+)",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = sc.write_sample_corpus(tmp_path_factory.mktemp("corpus") / sc.CORPUS_FILENAME)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def relations(corpus: str) -> dict[str, dict[str, str]]:
    """Each relation as stated in the corpus; a key stated with two different values fails here."""
    tables = {}
    for group, pattern in RELATIONS.items():
        values: dict[str, set[str]] = defaultdict(set)
        for key, value in re.findall(r"(?<!\w)" + pattern, corpus):
            values[key].add(value)
        contradicted = {k: v for k, v in values.items() if len(v) > 1}
        assert not contradicted, f"{group}: {contradicted}"
        tables[group] = {k: v.pop() for k, v in values.items()}
    return tables


def _stated_fills(corpus: str, sentence: str) -> set[str]:
    """Every word that fills the [MASK] of `sentence` somewhere in the corpus, word for word."""
    before, after = (re.escape(part) for part in sentence.split("[MASK]"))
    return set(re.findall(r"(?<!\w)" + before + r"(\w+)" + after, corpus))


def test_generation_is_deterministic_and_seeded() -> None:
    first = list(sc.generate_documents(300, seed=7))
    assert first == list(sc.generate_documents(300, seed=7))
    assert first != list(sc.generate_documents(300, seed=8))
    assert len(first) == 300


def test_generation_ignores_hash_seed() -> None:
    code = ("import hashlib; from workbench.samples.corpus import generate_documents; "
            "print(hashlib.sha256('\\n'.join(generate_documents(500)).encode()).hexdigest())")
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert digests == {hashlib.sha256("\n".join(sc.generate_documents(500)).encode()).hexdigest()}


def test_committed_resources_are_what_the_generator_writes(tmp_path: Path) -> None:
    sc.main([str(tmp_path)])
    for name in (sc.CORPUS_FILENAME, sc.CLOZE_FILENAME):
        committed = resources_dir() / name
        assert committed.is_file(), f"{committed} is missing: run python -m workbench.samples.corpus"
        assert committed.read_bytes() == (tmp_path / name).read_bytes(), f"{name} is stale: regenerate it"


def test_corpus_shape_and_size(corpus: str) -> None:
    assert 1_000_000 <= len(corpus.encode("utf-8")) <= 2_000_000
    assert corpus.endswith(".\n") and "\n\n\n" not in corpus
    documents = corpus.rstrip("\n").split("\n\n")
    assert len(documents) == sc.DEFAULT_N_DOCUMENTS
    for doc in documents:
        assert doc == doc.lower() and re.fullmatch(r"[^.\n ][^.\n]*\.( [^.\n ][^.\n]*\.)*", doc), doc
        assert "  " not in doc and 3 <= doc.count(".") <= 6
    sentences = re.findall(r"[^.]+\.", corpus)
    assert len(set(sentences)) > 0.3 * len(sentences), "too few distinct sentences"


def test_cloze_items_are_well_formed() -> None:
    items = sc.cloze_items()
    assert 40 <= len(items) <= 80
    assert len({item.sentence for item in items}) == len(items)
    assert set(item.group for item in items) == set(RELATIONS) | {"agreement"}
    for item in items:
        assert item.sentence.count("[MASK]") == 1 and "\t" not in item.sentence
        assert re.search(r"(^|\s)\[MASK\](\s|\.|$)", item.sentence), item.sentence  # a whole word
        assert item.answers and all(re.fullmatch(r"[a-z]+", a) for a in item.answers), item


def test_cloze_facts_are_stated_in_the_corpus(corpus: str, relations: dict[str, dict[str, str]]) -> None:
    vocabulary = set(re.findall(r"[a-z]+", corpus))
    held_out = 0
    for item in sc.cloze_items():
        assert set(item.answers) <= vocabulary, item
        if item.group == "agreement":
            continue  # any verb form fits word for word; test_agreement_items_are_right checks these
        fills = _stated_fills(corpus, item.sentence)
        if fills:  # the corpus uses this very wording: its fills are exactly the answers
            assert fills == set(item.answers), (item, fills)
            continue
        held_out += 1  # a wording the corpus never uses: the fact must be stated in the relation's wording
        table = relations[item.group]
        keys = [w for w in re.findall(r"[a-z]+", item.sentence) if w in table]
        assert len(keys) == 1 and item.answers == (table[keys[0]],), (item, keys)
    assert held_out >= 8


def test_agreement_items_are_right(relations: dict[str, dict[str, str]]) -> None:
    plural_of = relations["plural"]
    number = {**{s: "singular" for s in plural_of}, **{p: "plural" for p in plural_of.values()}}
    forms = {"singular": {"is", "was", "has"}, "plural": {"are", "were", "have"}}
    items = [item for item in sc.cloze_items() if item.group == "agreement"]
    assert len(items) >= 8
    for item in items:
        words = item.sentence.split()
        head, distractor = words[1], words[words.index("[MASK]") - 1]
        assert number[head] != number[distractor], item  # the nearest noun would mislead a shallow model
        assert set(item.answers) <= forms[number[head]], item
    assert {number[item.sentence.split()[1]] for item in items} == {"singular", "plural"}


def test_cloze_tsv_round_trips(tmp_path: Path) -> None:
    lines = sc.write_cloze_suite(tmp_path / "c.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence\tanswers\tgroup"
    rows = [line.split("\t") for line in lines[1:]]
    assert [sc.ClozeItem(s, tuple(a.split("|")), g) for s, a, g in rows] == sc.cloze_items()


def test_ensure_uses_bundled_files_in_a_checkout(tmp_path: Path) -> None:
    assert sc.ensure_sample_corpus(tmp_path) == sc.sample_corpus_path() == resources_dir() / sc.CORPUS_FILENAME
    assert sc.ensure_cloze_suite(tmp_path) == resources_dir() / sc.CLOZE_FILENAME
    assert list(tmp_path.iterdir()) == []


def test_ensure_generates_into_fallback_without_resources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An installed wheel has no resources folder beside the package.
    monkeypatch.setattr(sc, "resources_dir", lambda: tmp_path / "no-resources")
    fallback = tmp_path / "home" / "sample"
    corpus_path, cloze_path = sc.ensure_sample_corpus(fallback), sc.ensure_cloze_suite(fallback)
    assert corpus_path == fallback / sc.CORPUS_FILENAME and cloze_path == fallback / sc.CLOZE_FILENAME
    assert corpus_path.read_bytes() == (resources_dir() / sc.CORPUS_FILENAME).read_bytes()
    assert cloze_path.read_bytes() == (resources_dir() / sc.CLOZE_FILENAME).read_bytes()
    written = corpus_path.stat().st_mtime_ns
    assert sc.ensure_sample_corpus(fallback) == corpus_path and corpus_path.stat().st_mtime_ns == written
    assert sorted(p.name for p in fallback.iterdir()) == [sc.CLOZE_FILENAME, sc.CORPUS_FILENAME]  # no temp files
