"""Corpus jobs: register files as a named corpus (under a free name if asked), find one by name, forget one, and
re-read it for training.

The bundled sample corpus is registered on first use under the name `sample`, so every command works with no
user files at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from workbench.core.corpus import (
    CorpusOptions,
    CorpusScan,
    iter_documents,
    iter_split,
    rescan_corpus,
    scan_corpus,
)
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.samples.corpus import ensure_sample_corpus
from workbench.store.runstore import CorpusRecord, RunStore, StoreError

SAMPLE_CORPUS_NAME = "sample"


def add_corpus(
    ws: Workspace, paths: Sequence[str | Path], name: str | None = None, options: CorpusOptions = CorpusOptions()
) -> tuple[CorpusRecord, CorpusScan]:
    """Scan `paths` once (stats, problems, content hash) and record them as a corpus named `name`."""
    if not paths:
        raise UserError("corpus add: give at least one file or folder")
    resolved = [str(Path(p).expanduser().resolve()) for p in paths]
    name = name or Path(resolved[0]).stem.split(".")[0] or "corpus"
    if name == SAMPLE_CORPUS_NAME:  # else the bundled sample never registers and `train` reads the user's file
        raise UserError(f"the name {name!r} is kept for the bundled sample corpus; choose another with --name")
    return _record(ws, resolved, name, options)


def _record(ws: Workspace, resolved: list[str], name: str, options: CorpusOptions) -> tuple[CorpusRecord, CorpusScan]:
    if ws.store.get_corpus(name) is not None:
        raise UserError(f"a corpus named {name!r} already exists; choose another with --name")
    scan = scan_corpus(resolved, options)
    if not scan.files or scan.stats.documents == 0:
        reasons = "; ".join(str(p) for p in scan.problems) or "no documents found"
        raise UserError(f"no readable documents in {', '.join(resolved)}: {reasons}")
    record = ws.store.add_corpus(
        name=name,
        paths=resolved,
        options=asdict(options),
        content_hash=scan.content_hash,
        stats=scan.stats.to_dict(),
        problems=[str(p) for p in scan.problems],
        scan=scan.to_dict(),
    )
    return record, scan


def free_corpus_name(store: RunStore, paths: Sequence[str | Path], wanted: str = "") -> str:
    """`wanted` if given (it must be free), else a name from the first path ("notes" for notes.txt.gz) made
    unique as "notes-2", "notes-3" ...; an all-digit stem gets a "corpus-" prefix (the store refuses those)."""
    if wanted.strip():
        if store.get_corpus(wanted.strip()) is not None:
            raise UserError(f"a corpus named {wanted.strip()!r} already exists; choose another name")
        return wanted.strip()
    return unique_corpus_name(store, Path(paths[0]).name.split(".")[0] if paths else "")


def unique_corpus_name(store: RunStore, wanted: str) -> str:
    """`wanted` (spaces as dashes) when no corpus has it, else "wanted-2", "wanted-3" ...; an all-digit name gets
    a "corpus-" prefix (the store refuses those), and the sample's name is never given."""
    base = re.sub(r"\s+", "-", wanted.strip()) or "corpus"
    if base.isdigit():
        base = f"corpus-{base}"
    name, n = base, 1
    while name == SAMPLE_CORPUS_NAME or store.get_corpus(name) is not None:
        n += 1
        name = f"{base}-{n}"
    return name


def add_corpus_unique(
    ws: Workspace, paths: Sequence[str | Path], wanted: str = "", options: CorpusOptions = CorpusOptions()
) -> CorpusRecord:
    """Record `paths` as a corpus named `wanted`, or with no name under a free one made from the first path."""
    return add_corpus(ws, paths, free_corpus_name(ws.store, paths, wanted), options)[0]


def remove_corpus(ws: Workspace, corpus_id: int) -> None:
    """Forget a corpus and its tokenizers' records; its files stay, and runs trained on it keep their history."""
    ws.store.delete_corpus(corpus_id)


def get_corpus(ws: Workspace, name: str | None) -> CorpusRecord:
    """The corpus called `name`; with no name, the bundled sample (registered on first use)."""
    if name is None or name == SAMPLE_CORPUS_NAME:
        return ensure_sample_registered(ws)
    record = ws.store.get_corpus(name)
    if record is None:
        known = ", ".join(c.name for c in ws.store.list_corpora()) or "none yet (use `corpus add`)"
        raise UserError(f"no corpus named {name!r}; known corpora: {known}")
    return record


def ensure_sample_registered(ws: Workspace) -> CorpusRecord:
    record = ws.store.get_corpus(SAMPLE_CORPUS_NAME)
    if record is not None:
        return record
    path = ensure_sample_corpus(ws.home / "sample")
    try:
        return _record(ws, [str(path.resolve())], SAMPLE_CORPUS_NAME, CorpusOptions())[0]
    except (StoreError, UserError):  # another thread or process registered it first: use theirs
        record = ws.store.get_corpus(SAMPLE_CORPUS_NAME)
        if record is None:
            raise
        return record


def corpus_options(record: CorpusRecord) -> CorpusOptions:
    return options_from_dict(record.options)


def options_from_dict(options: dict[str, Any]) -> CorpusOptions:
    """CorpusOptions from their stored form (`asdict`, the extensions as a list); TypeError or ValueError when
    a key or a value is not one of theirs."""
    options = dict(options)
    options["extensions"] = tuple(options.get("extensions", CorpusOptions().extensions))
    return CorpusOptions(**options)


def rescan(ws: Workspace, record: CorpusRecord) -> CorpusScan:
    """The corpus as it is now: the stored scan while no file changed since it was made (same files, sizes and
    timestamps), else a fresh read (the content hash then tells whether the content changed), which is stored
    in its place so the next run reads nothing (unless a file was too fresh to fingerprint: then next time)."""
    previous = CorpusScan.from_dict(record.scan) if record.scan is not None else None
    scan = rescan_corpus(record.paths, corpus_options(record), previous)
    if scan is not previous and scan.fingerprint is not None:
        ws.store.update_corpus_scan(record.id, scan.to_dict())
    if not scan.files:
        reasons = "; ".join(str(p) for p in scan.problems) or "no documents found"
        raise UserError(f"corpus {record.name!r} can no longer be read: {reasons}")
    return scan


def documents(record: CorpusRecord, scan: CorpusScan) -> Iterator[str]:
    return iter_documents(scan.files, corpus_options(record))


def split_documents(record: CorpusRecord, scan: CorpusScan, split: str, fraction: float) -> Iterator[str]:
    return iter_split(scan.files, corpus_options(record), split, fraction)
