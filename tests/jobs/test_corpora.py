"""Corpus bookkeeping: free names, adding under a free name, and forgetting a corpus (its files stay)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from workbench.core.corpus import CorpusOptions
from workbench.jobs.corpora import add_corpus, add_corpus_unique, free_corpus_name, get_corpus, remove_corpus
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import train_tokenizer_for
from workbench.jobs.workspace import Workspace
from workbench.settings.tokenizer import TokenizerConfig


@pytest.fixture
def ws(home: Path):
    with Workspace(home) as workspace:
        yield workspace


def test_free_corpus_name_follows_the_first_file_and_never_collides(ws: Workspace, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt.gz"
    notes.write_bytes(gzip.compress(b"one document\n"))
    assert free_corpus_name(ws.store, [notes]) == "notes"
    add_corpus(ws, [notes], "notes")
    assert free_corpus_name(ws.store, [notes]) == "notes-2"
    assert free_corpus_name(ws.store, [tmp_path / "2023.txt"]) == "corpus-2023"
    assert free_corpus_name(ws.store, [notes], wanted="  mine ") == "mine"
    with pytest.raises(UserError, match="'notes' already exists"):
        free_corpus_name(ws.store, [notes], wanted="notes")


def test_add_corpus_unique_names_it_and_removing_forgets_it_with_its_tokenizers(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "lines.txt"
    path.write_text("one dog\ntwo cats\nthree birds\n", encoding="utf-8")
    first = add_corpus_unique(ws, [path], options=CorpusOptions(doc_mode="line"))
    second = add_corpus_unique(ws, [path])
    named = add_corpus_unique(ws, [path], "  mine ")
    assert (first.name, second.name, named.name) == ("lines", "lines-2", "mine")
    assert first.stats["documents"] == 3 and second.stats["documents"] == 1 and first.options["doc_mode"] == "line"
    with pytest.raises(UserError, match="'mine' already exists"):
        add_corpus_unique(ws, [path], "mine")
    train_tokenizer_for(ws, first, TokenizerConfig(type="char", vocab_size=40))
    remove_corpus(ws, first.id)
    assert ws.store.get_corpus("lines") is None and ws.store.list_tokenizers(first.id) == []
    assert path.exists() and ws.store.get_corpus("lines-2") is not None


def test_the_sample_name_is_kept_for_the_bundled_corpus(ws: Workspace, tmp_path: Path) -> None:
    """A user's corpus once took the name `sample`: the bundled one never registered and `train` with no
    --corpus silently read the user's file."""
    mine = tmp_path / "sample.txt"
    mine.write_text("my own text\n", encoding="utf-8")
    with pytest.raises(UserError, match="'sample' is kept for the bundled sample corpus"):
        add_corpus(ws, [mine], "sample")
    with pytest.raises(UserError, match="'sample' is kept"):
        add_corpus(ws, [mine])  # named after the file
    assert free_corpus_name(ws.store, [mine]) == "sample-2"
    assert ws.store.list_corpora() == []
    bundled = get_corpus(ws, None)
    assert bundled.name == "sample" and Path(bundled.paths[0]).name == "sample_corpus.txt"
