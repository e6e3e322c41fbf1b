"""Rescanning a corpus reuses the scan made when it was added while no file changed, and reads it again when one
did: edited (same size), restored to its old mtime, added to or removed from a folder, or too fresh to trust."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

import workbench.core.corpus as corpus_module
from workbench.core.corpus import CorpusOptions, CorpusScan, rescan_corpus, scan_corpus
from workbench.jobs.corpora import add_corpus, rescan
from workbench.jobs.workspace import Workspace

AN_HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def write(path: Path, text: str, mtime_ns: int = AN_HOUR_AGO_NS) -> Path:
    """Write `text` and date the file back: a file modified just now is never trusted unread."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files read by any scan from now on."""
    seen: list[str] = []
    read_file = corpus_module._scan_file

    def spy(path: Path, options: CorpusOptions):
        seen.append(path.name)
        return read_file(path, options)

    monkeypatch.setattr(corpus_module, "_scan_file", spy)
    return seen


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(tmp_path / "corpus" / "a.txt", "alpha beta\n\ngamma\n")
    write(tmp_path / "corpus" / "b.txt", "delta epsilon\n")
    return tmp_path / "corpus"


@pytest.fixture
def ws(home: Path):
    with Workspace(home) as workspace:
        yield workspace


def test_an_unchanged_corpus_is_not_read_again(ws: Workspace, folder: Path, reads: list[str]) -> None:
    record, added = add_corpus(ws, [folder], "c")
    assert reads == ["a.txt", "b.txt"] and added.fingerprint is not None
    reads.clear()
    assert rescan(ws, record) == added
    assert reads == []
    assert "scan" not in record.to_dict()  # bookkeeping stays out of `--json` output


@pytest.mark.parametrize("mtime_ns", [None, AN_HOUR_AGO_NS + 10**9], ids=["modified-now", "dated-back"])
def test_an_edit_of_the_same_size_is_read_again(
    ws: Workspace, folder: Path, reads: list[str], mtime_ns: int | None
) -> None:
    record, added = add_corpus(ws, [folder], "c")
    (folder / "b.txt").write_text("DELTA epsilon\n", encoding="utf-8")  # same size, new mtime
    if mtime_ns is not None:  # an mtime the stored scan has not seen, but not a fresh one
        os.utime(folder / "b.txt", ns=(mtime_ns, mtime_ns))
    reads.clear()
    scan = rescan(ws, record)
    assert reads == ["a.txt", "b.txt"]
    assert scan.content_hash != added.content_hash


@pytest.mark.skipif(sys.platform == "win32", reason="ctime is the creation time on Windows")
def test_an_edit_that_keeps_the_old_mtime_is_read_again(ws: Workspace, folder: Path, reads: list[str]) -> None:
    record, added = add_corpus(ws, [folder], "c")
    time.sleep(0.05)  # let the clock pass the timestamp tick of the add, so the edit's ctime differs
    write(folder / "b.txt", "DELTA epsilon\n")  # as `cp -p` or `rsync -a` would: same size and mtime
    reads.clear()
    assert rescan(ws, record).content_hash != added.content_hash
    assert reads == ["a.txt", "b.txt"]


def test_a_file_added_to_the_folder_is_read(ws: Workspace, folder: Path, reads: list[str]) -> None:
    record, added = add_corpus(ws, [folder], "c")
    write(folder / "sub" / "c.txt", "zeta\n")
    reads.clear()
    scan = rescan(ws, record)
    assert reads == ["a.txt", "b.txt", "c.txt"]
    assert len(scan.files) == 3 and scan.stats.documents == added.stats.documents + 1


def test_a_file_removed_from_the_folder_is_noticed(ws: Workspace, folder: Path, reads: list[str]) -> None:
    record, added = add_corpus(ws, [folder], "c")
    (folder / "a.txt").unlink()
    reads.clear()
    scan = rescan(ws, record)
    assert reads == ["b.txt"]
    assert scan.files == [str(folder / "b.txt")] and scan.content_hash != added.content_hash


def test_a_freshly_written_file_is_always_read(ws: Workspace, folder: Path, reads: list[str]) -> None:
    # its next edit could fall within the same timestamp tick and leave the mtime unchanged
    write(folder / "b.txt", "delta epsilon\n", mtime_ns=time.time_ns())
    record, added = add_corpus(ws, [folder], "c")
    assert added.fingerprint is None
    reads.clear()
    assert rescan(ws, record) == added
    assert reads == ["a.txt", "b.txt"]


def test_a_fresh_read_is_stored_so_the_next_run_reads_nothing(ws: Workspace, folder: Path, reads: list[str]) -> None:
    record, added = add_corpus(ws, [folder], "c")
    write(folder / "b.txt", "DELTA epsilon\n", mtime_ns=AN_HOUR_AGO_NS + 10**9)  # edited since it was added
    reads.clear()
    edited = rescan(ws, ws.store.get_corpus("c"))
    assert reads == ["a.txt", "b.txt"] and edited.content_hash != added.content_hash
    reads.clear()
    assert rescan(ws, ws.store.get_corpus("c")) == edited  # the edit's read was stored in place of the add's
    assert reads == []


def test_a_touched_file_is_read_again_and_keeps_the_hash(folder: Path, reads: list[str]) -> None:
    options = CorpusOptions()
    added = scan_corpus([folder], options)
    os.utime(folder / "a.txt", ns=(AN_HOUR_AGO_NS + 10**9, AN_HOUR_AGO_NS + 10**9))
    reads.clear()
    scan = rescan_corpus([folder], options, added)
    assert reads == ["a.txt", "b.txt"] and scan.content_hash == added.content_hash
    assert scan.fingerprint not in (None, added.fingerprint)


def test_other_options_never_reuse_a_scan(folder: Path, reads: list[str]) -> None:
    added = scan_corpus([folder])
    reads.clear()
    scan = rescan_corpus([folder], CorpusOptions(doc_mode="line"), added)
    assert reads == ["a.txt", "b.txt"] and scan.content_hash != added.content_hash


def test_a_stored_scan_round_trips_with_its_problems(folder: Path) -> None:
    write(folder / "bad.txt", "")  # empty: a fatal problem
    write(folder / "notes.csv", "title\nx\n")  # no `text` column: another
    scan = scan_corpus([folder, folder / "missing.txt"])
    assert len(scan.problems) == 3
    assert CorpusScan.from_dict(scan.to_dict()) == scan
