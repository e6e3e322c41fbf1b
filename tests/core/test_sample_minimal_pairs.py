"""The bundled minimal-pair suite: the committed file is what the generator writes, every pair changes one thing,
and the good sentences speak the corpus' language (each of their words occurs in the corpus; the bad ones' wrong
plurals never do)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from workbench.core.probing.minimal_pairs import load_pairs
from workbench.paths import resources_dir
from workbench.samples import corpus as sc
from workbench.samples import minimal_pairs as mp


@pytest.fixture(scope="module")
def corpus_words() -> set[str]:
    return set(re.findall(r"\w+", (resources_dir() / sc.CORPUS_FILENAME).read_text(encoding="utf-8")))


def test_committed_file_is_what_the_generator_writes(tmp_path: Path) -> None:
    mp.main([str(tmp_path)])
    committed = resources_dir() / mp.MINIMAL_PAIRS_FILENAME
    assert committed.is_file(), f"{committed} is missing: run python -m workbench.samples.minimal_pairs"
    assert committed.read_bytes() == (tmp_path / mp.MINIMAL_PAIRS_FILENAME).read_bytes(), "stale: regenerate it"
    suite = load_pairs(committed)  # the suite's own reader accepts it
    assert Counter(p.phenomenon for p in suite.pairs) == {name: mp.PAIRS_PER_PHENOMENON for name in (
        "agreement", "agreement-attractor", "agreement-relative", "plural-number", "plural-irregular", "word-order")}


def test_generation_is_deterministic_and_distinct() -> None:
    pairs = mp.minimal_pairs()
    assert pairs == mp.minimal_pairs() and pairs != mp.minimal_pairs(seed=mp.SEED + 1)
    assert len(set(pairs)) == len(pairs)


def test_each_pair_changes_one_thing(corpus_words: set[str]) -> None:
    for good, bad, phenomenon in mp.minimal_pairs():
        g, b = good.split(), bad.split()
        assert good != bad
        assert set(re.findall(r"\w+", good)) <= corpus_words, good
        if phenomenon == "word-order":
            assert sorted(re.findall(r"\w+", good)) == sorted(re.findall(r"\w+", bad))  # the same words, moved
        else:
            changed = [(x, y) for x, y in zip(g, b) if x != y]
            assert len(g) == len(b) and len(changed) == 1, (good, bad)
        if phenomenon == "plural-irregular":
            assert not set(re.findall(r"\w+", bad)) <= corpus_words, bad  # "mouses" is never written there
