"""Long lines and decompression bombs: whatever a file's line structure, reading it holds only bounded pieces
(issue 14 item 13). The caps are lowered here so small files take the paths a 200 MB line takes."""

from __future__ import annotations

import gzip
import random
import tracemalloc
from pathlib import Path

import pytest

from workbench.core import corpus
from workbench.core.corpus import CorpusOptions, iter_documents, scan_corpus, split_text

WORDS = random.Random(0).choices([f"w{i}x" for i in range(977)], k=200_000)  # about 1.2 MB as one line


def scan_and_read(path: Path, options: CorpusOptions = CorpusOptions()) -> tuple[corpus.CorpusScan, list[str]]:
    scan = scan_corpus([path], options)
    documents = list(iter_documents(scan.files, options))
    assert scan.stats.documents == len(documents)
    return scan, documents


def test_split_text_cuts_before_whitespace_and_joins_back() -> None:
    assert split_text("aa bb cc", 5) == ["aa bb", " cc"]
    assert split_text("aa bb cc", 4) == ["aa", " bb", " cc"]
    assert split_text("short", 5) == ["short"]
    assert split_text("abcdefgh ij", 3) == ["abc", "def", "gh", " ij"]  # no whitespace in reach: a hard cut
    text = " ".join(WORDS)
    pieces = split_text(text, 1000)
    assert "".join(pieces) == text and max(map(len, pieces)) <= 1000
    assert [word for piece in pieces for word in piece.split()] == WORDS  # no word cut in two


@pytest.mark.parametrize("doc_mode", ["blank-line", "line"])
def test_a_long_line_becomes_bounded_documents_with_whole_words(tmp_path, monkeypatch, doc_mode) -> None:
    monkeypatch.setattr(corpus, "_MAX_DOCUMENT_CHARS", 10_000)
    path = tmp_path / "one-line.txt"
    path.write_text(" ".join(WORDS) + "\n\nnext document\n")
    scan, documents = scan_and_read(path, CorpusOptions(doc_mode=doc_mode))
    assert documents[-1] == "next document" and max(map(len, documents)) <= 10_000
    assert [word for document in documents[:-1] for word in document.split()] == WORDS
    assert scan.stats.words == len(WORDS) + 2 and scan.stats.lines == 3
    (note,) = scan.problems
    assert not note.fatal and note.location == "line 1" and "split into documents at whitespace" in note.message


def test_a_long_line_is_read_in_bounded_memory(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(corpus, "_MAX_DOCUMENT_CHARS", 1 << 16)
    path = tmp_path / "eight-megabytes-one-line.txt"
    with path.open("w") as f:
        for _ in range(8):
            f.write(" ".join(WORDS[:150_000]) + " ")  # about 1 MB each, no newline anywhere
    documents = iter_documents([path], CorpusOptions(doc_mode="line"))
    tracemalloc.start()
    try:
        sizes = [(len(document), len(document.split())) for document in documents]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert max(chars for chars, _ in sizes) <= 1 << 16 and sum(words for _, words in sizes) == 8 * 150_000
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB: the line was held whole"


def test_a_long_jsonl_value_is_split_and_an_unparseable_long_line_skipped(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(corpus, "_MAX_DOCUMENT_CHARS", 1_000)
    monkeypatch.setattr(corpus, "_MAX_RECORD_CHARS", 30_000)
    value = " ".join(WORDS[:3_000])  # about 18,000 characters: one record, several documents
    path = tmp_path / "records.jsonl"
    path.write_text(f'{{"text": "{"ab " * 20_000}"}}\n{{"text": "{value}"}}\n{{"text": "short"}}\n')
    scan, documents = scan_and_read(path)
    assert documents[-1] == "short" and max(map(len, documents)) <= 1_000
    assert [word for document in documents[:-1] for word in document.split()] == WORDS[:3_000]
    (skipped,) = scan.problems
    assert str(skipped) == f"{path}: line 1: longer than 30,000 characters; line skipped"
    assert scan.stats.lines == 3


def test_a_csv_field_longer_than_a_record_is_refused(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(corpus, "_MAX_RECORD_CHARS", 5_000)
    path = tmp_path / "quoted.csv"
    path.write_text('text\n"' + "many short lines\n" * 1_000 + '"\n')  # one field across 1,000 lines
    (problem,) = scan_corpus([path]).problems
    assert problem.fatal and "field larger than field limit" in problem.message


def test_a_gzip_bomb_is_refused_early(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(corpus, "_GZIP_FLOOR", 1 << 19)
    bomb = tmp_path / "bomb.txt.gz"
    bomb.write_bytes(gzip.compress(b"a" * (8 << 20)))  # 8 MB of one letter in about 8 KB
    fine = tmp_path / "fine.txt.gz"
    lines = (" ".join(WORDS[i : i + 20]) + "\n" for i in range(0, len(WORDS), 20))
    fine.write_bytes(gzip.compress("".join(lines).encode()))  # 1.2 MB of text in a third of that
    scan = scan_corpus([bomb, fine], CorpusOptions(doc_mode="line"))
    (problem,) = scan.problems
    assert problem.path == str(bomb) and problem.fatal and "decompression bomb" in problem.message
    assert int(problem.location.split()[-1].replace(",", "")) < 2 << 20  # stopped long before its 8 MB
    assert scan.files == [str(fine)] and scan.stats.words == len(WORDS)
