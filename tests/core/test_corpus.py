"""Tests for workbench.core.corpus: formats, encodings, problems, statistics, hashing, split, streaming."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from workbench.core import corpus
from workbench.core.corpus import (
    CorpusError,
    CorpusOptions,
    CorpusStats,
    format_problems,
    is_validation,
    iter_documents,
    iter_split,
    scan_corpus,
)

SHAKESPEARE = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "tinyshakespeare.txt"


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    """Write `content` to folder/name (gzip-compressed when the name ends in .gz)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content if isinstance(content, bytes) else content.encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if name.endswith(".gz") else data)
    return path


def read(paths: list[Path], options: CorpusOptions = CorpusOptions()) -> list[str]:
    """Scan, insist on no problems, and return the documents."""
    scan = scan_corpus(paths, options)
    assert scan.problems == [], format_problems(scan.problems)
    documents = list(iter_documents(scan.files, options))
    assert scan.stats.documents == len(documents)
    return documents


TEXT = "First doc,\nsecond line.\n\n\n  Second doc  \n \t \nThird\n"


def test_text_blank_line_and_line_modes(tmp_path):
    path = write(tmp_path, "a.txt", TEXT)
    assert read([path]) == ["First doc,\nsecond line.", "Second doc", "Third"]
    assert read([path], CorpusOptions(doc_mode="line")) == ["First doc,", "second line.", "Second doc", "Third"]
    crlf = write(tmp_path, "crlf.md", TEXT.replace("\n", "\r\n"))
    assert read([crlf]) == ["First doc,\nsecond line.", "Second doc", "Third"]
    no_final_newline = write(tmp_path, "end.txt", "one\n\ntwo")
    assert read([no_final_newline], CorpusOptions(doc_mode="line")) == ["one", "two"]


def test_jsonl_csv_and_tsv(tmp_path):
    jsonl = write(tmp_path, "a.jsonl", '{"text": " alpha ", "id": 1}\n\n{"body": "x", "text": "beta\\ngamma"}\n')
    assert read([jsonl]) == ["alpha", "beta\ngamma"]
    body = write(tmp_path, "b.jsonl", '{"body": "one"}\n{"body": "two"}\n')
    assert read([body], CorpusOptions(field="body")) == ["one", "two"]

    csv_text = 'id,text\n1,"Hello, world"\n2,"multi\nline ""quoted"""\n\n3,\n'
    assert read([write(tmp_path, "a.csv", csv_text)]) == ["Hello, world", 'multi\nline "quoted"']
    long_field = "word " * 60_000  # beyond the csv module's default 128 KiB field limit
    assert read([write(tmp_path, "long.csv", f"text\n{long_field}\n")]) == [long_field.strip()]

    # TSV is read unquoted: a stray quote (common in SST-2) must not swallow the following lines
    tsv = write(tmp_path, "a.tsv", 'sentence\tlabel\nit \'s a "great film\t1\nawful\t0\n')
    assert read([tsv], CorpusOptions(column="sentence")) == ['it \'s a "great film', "awful"]


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.jsonl", "a.csv", "a.tsv"])
def test_gzip_reads_like_the_plain_file(tmp_path, name):
    content = {
        ".txt": TEXT,
        ".md": "# Title\n\nA paragraph\nof two lines.\n",
        ".jsonl": '{"text": "one"}\n{"text": "two"}\n',
        ".csv": 'text,x\n"a, b",1\nc,2\n',
        ".tsv": "text\tx\na b\t1\nc\t2\n",
    }[Path(name).suffix]
    plain = write(tmp_path / "plain", name, content)
    packed = write(tmp_path / "packed", name + ".gz", content)
    assert read([packed]) == read([plain]) and len(read([plain])) >= 2
    # the hash follows the content, not how it was stored on disk
    assert scan_corpus([packed]).content_hash == scan_corpus([plain]).content_hash


def test_folders_are_walked_sorted_and_hidden_files_skipped(tmp_path):
    root = tmp_path / "corpus"
    write(root, "b.txt", "from b\n")
    write(root, "a/z.jsonl.gz", '{"text": "from a/z"}\n')
    write(root, "a.csv", "text\nfrom a.csv\n")
    write(root, "a/b/deep.md", "from a/b/deep\n")
    write(root, ".hidden.txt", "hidden\n")
    write(root, ".git/config.txt", "hidden folder\n")
    write(root, "notes.pdf", b"%PDF-1.4 not a corpus file")
    write(root, "README", "no extension\n")
    extra = write(tmp_path, "extra.txt", "explicit file\n")
    scan = scan_corpus([root, extra, root / "b.txt"])  # b.txt twice: read once
    assert scan.problems == []
    assert [Path(f).relative_to(tmp_path).as_posix() for f in scan.files] == [
        "corpus/a/b/deep.md", "corpus/a/z.jsonl.gz", "corpus/a.csv", "corpus/b.txt", "extra.txt",
    ]
    assert list(iter_documents(scan.files)) == ["from a/b/deep", "from a/z", "from a.csv", "from b", "explicit file"]
    only_md = scan_corpus([root], CorpusOptions(extensions=(".md",)))
    assert [Path(f).name for f in only_md.files] == ["deep.md"]
    empty = tmp_path / "empty"
    empty.mkdir()
    (problem,) = scan_corpus([empty]).problems
    assert "no corpus files" in str(problem) and str(empty) in str(problem)


@pytest.mark.parametrize("codec, bom", [
    ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
])
def test_bom_and_utf16(tmp_path, codec, bom):
    text = write(tmp_path, "a.txt", bom + "naïve café\n\n東京 🎉 emoji\nend\n".encode(codec))
    assert read([text]) == ["naïve café", "東京 🎉 emoji\nend"]
    table = write(tmp_path, "a.csv", bom + "text,n\nnaïve café,1\n".encode(codec))
    assert read([table]) == ["naïve café"]  # the BOM is not glued to the first column name


def test_chunk_boundaries_do_not_split_characters_or_lines(tmp_path, monkeypatch):
    """Odd-sized chunks cut multi-byte characters, CRLF pairs and UTF-16 surrogate pairs in half."""
    text = "".join(f"línea {i} ✓ 🎉\r\n" + ("\r\n" if i % 3 == 0 else "") for i in range(50))
    expected = read([write(tmp_path, "big.txt", text)])
    monkeypatch.setattr(corpus, "_CHUNK", 7)
    assert read([write(tmp_path, "a.txt", text)]) == expected
    assert read([write(tmp_path, "b.txt", b"\xff\xfe" + text.encode("utf-16-le"))]) == expected
    assert read([write(tmp_path, "c.txt.gz", text)]) == expected
    bad = write(tmp_path, "bad.txt", "ok ✓\nline two\nthree ".encode() + b"\xff\n")
    (problem,) = scan_corpus([bad]).problems
    assert problem.location == "line 3, byte 22"


NUMBERED_LINES = "".join(f"line {i}\n" for i in range(999)).encode()
FATAL_CASES = {
    "bad-utf8.txt": (b"hello\nworld \xff here\n", ["line 2, byte 12", "not valid UTF-8", "0xff"]),
    "nul.txt": (b"text\nabc\x00def\n", ["line 2, byte 8", "NUL byte"]),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["line 1, byte 0", "not valid UTF-8", "0x89"]),
    "utf16-no-bom.txt": ("plain words".encode("utf-16-le"), ["line 1, byte 1", "NUL byte", "UTF-16"]),
    "bad-utf16.txt": (b"\xff\xfe" + "ab\ncd".encode("utf-16-le") + b"e", ["line 2, byte 12", "UTF-16 LE"]),
    "empty.txt": (b"", ["empty file"]),
    "blank.md": (b"\n  \n\t\n", ["no documents in 3 lines"]),
    "no-column.csv": (b"label,sentence\n1,good\n", ["line 1", "no column 'text'", "'label', 'sentence'"]),
    "header-only.tsv": (b"text\tlabel\n", ["no documents"]),
    "unclosed-quote.csv": (b'text\n"ok"\n"never closed\nmore\n', ["line 4", "malformed CSV", "unexpected end"]),
    "bad-quote.csv": (b'text,n\n"a"x,1\n', ["line 2", "malformed CSV", "',' expected after '\"'"]),
    "no-field.jsonl": (b'{"body": "a"}\n{"id": 2}\n', ["no line has the field 'text'", "body, id"]),
    "all-broken.jsonl": (b"{oops\n[1, 2]\n", ["no documents: all 2 lines with text", "line 1", "not valid JSON"]),
    "truncated.txt.gz": (gzip.compress(NUMBERED_LINES)[:60], ["compressed byte 60", "corrupt gzip data", "ended"]),
    "not-gzip.txt.gz": (b"plain text, not gzip\n", ["corrupt gzip data", "Not a gzipped file"]),
    "misnamed-gzip.txt": (gzip.compress(b"text\n"), ["byte 0", "give the file a .gz extension"]),
    "my.notes.pdf": (b"%PDF-1.4", ["unsupported file type (.pdf)"]),
    "a.tar.gz": (gzip.compress(b"x"), ["unsupported file type (.tar.gz)"]),
}


@pytest.mark.parametrize("name", sorted(FATAL_CASES))
def test_fatal_problem_skips_only_that_file(tmp_path, name):
    data, expected = FATAL_CASES[name]
    good_before = write(tmp_path, "before.txt", "good one\n")
    bad = tmp_path / name
    bad.write_bytes(data)  # as given, never compressed by `write`: some are deliberately broken gzip
    good_after = write(tmp_path, "after.jsonl", '{"text": "good two"}\n')
    scan = scan_corpus([good_before, bad, good_after])
    assert scan.files == [str(good_before), str(good_after)]
    assert list(iter_documents(scan.files)) == ["good one", "good two"]
    (problem,) = scan.problems
    line = str(problem)
    assert problem.fatal and problem.path == str(bad) and "\n" not in line
    assert line.startswith(f"{bad}: ") and line.endswith("; file skipped")
    for fragment in expected:
        assert fragment in line, line


def test_missing_path_and_fatal_problem_at_the_end_of_a_large_file(tmp_path):
    good = write(tmp_path, "good.txt", "fine\n")
    late = write(tmp_path, "late.txt", b"valid line of text\n" * 20_000 + b"\xc3\x28 broken at the end\n")
    scan = scan_corpus([tmp_path / "missing.txt", late, good])
    assert scan.files == [str(good)] and scan.stats.documents == 1 and scan.stats.lines == 1
    missing, broken = scan.problems
    assert str(missing) == f"{tmp_path / 'missing.txt'}: no such file or folder; file skipped"
    assert broken.location == "line 20001, byte 380000" and "invalid continuation byte" in broken.message


@pytest.mark.timeout(30)  # a FIFO once blocked `corpus add` forever
def test_fifos_and_symlink_loops_are_skipped_as_problems(tmp_path):
    folder = tmp_path / "corpus"
    good = write(folder, "good.txt", "fine\n")
    os.mkfifo(folder / "pipe.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "dangling.txt").symlink_to(folder / "gone.txt")
    scan = scan_corpus([folder, folder / "pipe.txt"])
    assert scan.files == [str(good)] and scan.stats.documents == 1  # the good file beside them still loads
    messages = {Path(p.path).name: str(p) for p in scan.problems}
    assert "a FIFO (named pipe), not a file; file skipped" in messages["pipe.txt"]
    assert "cannot be read (Too many levels of symbolic links)" in messages["loop.txt"]
    assert "cannot be read (No such file or directory)" in messages["dangling.txt"]
    assert all(p.fatal for p in scan.problems) and len(scan.problems) == 4  # the pipe named directly, too


def test_json_errors_read_as_sentences(tmp_path):
    """They read "Invalid control character at at column 34", and an unterminated string was blamed on the
    line's own newline."""
    path = write(tmp_path, "bad.jsonl", '{"text": "tab\there"}\n{"text": "never closed\n{"text": "ok"}\n')
    messages = [p.message for p in scan_corpus([path]).problems]
    assert messages == ["not valid JSON (Invalid control character at column 14); line skipped",
                        "not valid JSON (Unterminated string starting at column 10); line skipped"]


def test_non_fatal_line_problems_keep_the_file(tmp_path):
    lines = [
        '{"text": "kept one"}',
        "{not json",
        '{"title": "no text field"}',
        '{"text": 42}',
        '["an", "array"]',
        '{"text": "\\ud800 lone surrogate"}',
        '{"text": "kept two"}',
    ]
    path = write(tmp_path, "mixed.jsonl", "\n".join(lines) + "\n")
    scan = scan_corpus([path])
    assert list(iter_documents(scan.files)) == ["kept one", "kept two"]
    assert [p.location for p in scan.problems] == ["line 2", "line 3", "line 4", "line 5", "line 6"]
    assert not any(p.fatal for p in scan.problems)
    messages = [str(p) for p in scan.problems]
    assert messages[0].startswith(f"{path}: line 2: not valid JSON") and messages[0].endswith("; line skipped")
    assert "no field 'text'" in messages[1] and "is a number, not a string" in messages[2]
    assert "expected a JSON object, found an array" in messages[3] and "surrogate" in messages[4]
    short_row = write(tmp_path, "short.csv", "id,text\n1,fine\n2\n")
    (problem,) = scan_corpus([short_row]).problems
    assert str(problem) == f"{short_row}: line 3: only 1 fields, none for column 'text'; line skipped"


def test_line_problems_are_capped_per_file(tmp_path):
    path = write(tmp_path, "noisy.jsonl", "{broken\n" * 50 + '{"text": "survivor"}\n')
    scan = scan_corpus([path])
    assert scan.stats.documents == 1 and len(scan.problems) == corpus._MAX_LINE_PROBLEMS + 1
    assert str(scan.problems[-1]) == f"{path}: 30 more problems not listed"
    assert format_problems([scan.problems[0], corpus.Problem("x.txt", None, "empty file", True)])[0] == (
        "x.txt: empty file; file skipped"
    )


def test_overlong_paragraph_is_split_with_a_note(tmp_path, monkeypatch):
    """Blank-line mode on a file without blank lines must not make the whole file one document."""
    monkeypatch.setattr(corpus, "_MAX_DOCUMENT_CHARS", 38)  # two lines of 19
    path = write(tmp_path, "sentences.txt", "".join(f"sentence number {i}.\n" for i in range(10)) + "\nlast\n")
    scan = scan_corpus([path])
    documents = list(iter_documents(scan.files))
    assert documents[:2] == ["sentence number 0.\nsentence number 1.", "sentence number 2.\nsentence number 3."]
    assert len(documents) == 6 and documents[-1] == "last" and scan.stats.documents == 6
    (note,) = scan.problems
    assert not note.fatal and note.location == "line 2" and "doc_mode 'line'" in str(note)


def test_stats_on_a_hand_made_corpus(tmp_path):
    text = write(tmp_path, "a.txt", "The cat sat.\nThe dog\n\n\nthe  cat\n")  # 5 lines, 2 documents
    jsonl = write(tmp_path, "b.jsonl", '{"text": "Dog eats"}\n{"oops": 1}\n')  # 2 lines, 1 document
    scan = scan_corpus([text, jsonl])
    # documents: "The cat sat.\nThe dog" (20 chars), "the  cat" (8), "Dog eats" (8)
    assert scan.stats == CorpusStats(documents=3, lines=7, characters=36, words=9, unique_words=7)
    assert scan.stats.to_dict() == {"documents": 3, "lines": 7, "characters": 36, "words": 9, "unique_words": 7}
    assert len(scan.problems) == 1 and not scan.problems[0].fatal


def test_content_hash_is_stable_and_sensitive(tmp_path):
    a = write(tmp_path, "one/a.txt", "alpha beta\n\ngamma\n")
    b = write(tmp_path, "one/b.csv", "text,body\nx,y\n")
    base = scan_corpus([a, b]).content_hash
    assert scan_corpus([a, b]).content_hash == base and len(base) == 64
    moved = [write(tmp_path, "two/a.txt", a.read_text()), write(tmp_path, "two/b.csv", b.read_text())]
    assert scan_corpus(moved).content_hash == base  # the hash follows content, not location
    assert scan_corpus([b, a]).content_hash != base
    assert scan_corpus([a, b], CorpusOptions(doc_mode="line")).content_hash != base
    assert scan_corpus([a, b], CorpusOptions(column="body")).content_hash != base
    assert scan_corpus([a, b], CorpusOptions(field="body")).content_hash != base
    a.write_text("alpha beta\n\ngamma!\n")
    assert scan_corpus([a, b]).content_hash != base
    assert scan_corpus([a, b, tmp_path / "missing.txt"]).content_hash == scan_corpus([a, b]).content_hash


def test_iter_documents_raises_when_a_file_changed_after_the_scan(tmp_path):
    path = write(tmp_path, "a.txt", "fine\n")
    scan = scan_corpus([path])
    path.write_bytes(b"fine\nnow \xff broken\n")
    with pytest.raises(CorpusError, match=r"a\.txt: line 2, byte 9: not valid UTF-8"):
        list(iter_documents(scan.files))


def test_split_is_deterministic_disjoint_complete_and_close_to_fraction(tmp_path):
    path = write(tmp_path, "docs.txt", "".join(f"document number {i} about topic {i % 97}\n" for i in range(20_000)))
    options = CorpusOptions(doc_mode="line")
    files = scan_corpus([path], options).files
    everything = list(iter_documents(files, options))
    for fraction, tolerance in ((0.02, 0.005), (0.1, 0.01)):  # both about 5 standard deviations
        validation = list(iter_split(files, options, "validation", fraction))
        train = list(iter_split(files, options, "train", fraction))
        assert abs(len(validation) / len(everything) - fraction) < tolerance
        assert set(validation).isdisjoint(train) and sorted(validation + train) == sorted(everything)
        assert validation == list(iter_split(files, options, "validation", fraction))
    assert list(iter_split(files, options, "validation", 0.0)) == []
    assert list(iter_split(files, options, "train", 1.0)) == []
    with pytest.raises(ValueError, match="split must be"):
        iter_split(files, options, "test")
    with pytest.raises(ValueError, match="fraction"):
        iter_split(files, options, "train", 1.5)


def test_is_validation_is_the_same_in_another_process():
    documents = [f"doc {i}" for i in range(200)] + ["naïve café", "東京"]
    here = [is_validation(doc, 0.3) for doc in documents]
    code = (
        "import json, sys; from workbench.core.corpus import is_validation; "
        "print(json.dumps([is_validation(d, 0.3) for d in json.load(sys.stdin)]))"
    )
    env = {"PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run(
        [sys.executable, "-c", code], input=json.dumps(documents), capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(result.stdout) == here and 30 < sum(here) < 90
    # pinned: changing the split function would silently move documents between train and validation
    assert [is_validation(f"doc {i}", 0.5) for i in range(8)] == PINNED_SPLIT


PINNED_SPLIT = [False, True, False, False, True, False, False, True]


def test_options_are_validated():
    with pytest.raises(ValueError, match="doc_mode"):
        CorpusOptions(doc_mode="paragraph")
    with pytest.raises(ValueError, match="extensions"):
        CorpusOptions(extensions=("txt",))
    assert CorpusOptions(extensions=(".TXT",)).extensions == (".txt",)


def test_reading_streams_a_large_file_in_little_memory(tmp_path):
    line = "the quick brown fox jumps over the lazy dog " * 3 + "\n"
    path = tmp_path / "large.txt"
    with path.open("w") as f:
        for _ in range(8 * 2**20 // len(line)):  # about 8 MB
            f.write(line)
    documents = iter_documents([path], CorpusOptions(doc_mode="line"))
    assert not isinstance(documents, list)
    tracemalloc.start()
    try:
        count = sum(1 for _ in documents)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8 * 2**20 // len(line)
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MiB: the file was not streamed"


@pytest.mark.skipif(not SHAKESPEARE.exists(), reason="../shared/corpora is absent")
def test_scans_tiny_shakespeare():
    scan = scan_corpus(SHAKESPEARE)  # a single path is accepted too
    assert scan.problems == [] and scan.files == [str(SHAKESPEARE)]
    stats = scan.stats
    assert stats.lines == 40_000 and 7_000 < stats.documents < 8_000
    assert 180_000 < stats.words < 220_000 and 20_000 < stats.unique_words < 30_000
    validation = sum(1 for _ in iter_split(scan.files, CorpusOptions(), "validation"))
    assert abs(validation / stats.documents - 0.02) < 0.005
