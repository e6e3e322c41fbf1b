"""Tokenizer jobs: train one on a corpus (or reuse the identical one already trained) and load it back.

Tokenizer folders are named by the sha256 of their `tokenizer.json`, so the same corpus and settings land in the
same folder and a half-finished training never leaves a folder that a record points to.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from workbench.core.tokenization import WorkbenchTokenizer, train_tokenizer
from workbench.jobs.corpora import documents, get_corpus, rescan
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.settings.tokenizer import TokenizerConfig
from workbench.store.runstore import CorpusRecord, TokenizerRecord

DEFAULT_TOKENIZER = TokenizerConfig()
# The GUI's panels may ask for the same default tokenizer at once: train it once, then reuse it.
_TRAINING = threading.Lock()


def train_tokenizer_for(
    ws: Workspace,
    corpus: CorpusRecord,
    config: TokenizerConfig,
    progress: Callable[[int], None] | None = None,
) -> TokenizerRecord:
    """Train `config` on `corpus` and record it; an identical earlier tokenizer is reused."""
    with _TRAINING:
        existing = ws.store.find_tokenizer(corpus.id, config.to_dict())
        if existing is not None and Path(existing.path, "tokenizer.json").exists():
            return existing
        return _train_and_record(ws, corpus, config, progress)


def train_tokenizer_on(
    ws: Workspace,
    corpus_name: str | None,
    config: TokenizerConfig,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TokenizerRecord, bool]:
    """Train `config` on the corpus `corpus_name` (None: the sample): (record, whether an identical one was reused)."""
    corpus = get_corpus(ws, corpus_name)
    total = int(corpus.stats["documents"])
    before = {t.id for t in ws.store.list_tokenizers(corpus.id)}
    record = train_tokenizer_for(ws, corpus, config, None if progress is None else lambda done: progress(done, total))
    return record, record.id in before


def _train_and_record(
    ws: Workspace, corpus: CorpusRecord, config: TokenizerConfig, progress: Callable[[int], None] | None
) -> TokenizerRecord:
    scan = rescan(ws, corpus)
    return add_tokenizer_record(ws, corpus, train_tokenizer(documents(corpus, scan), config, progress=progress))


def add_tokenizer_record(ws: Workspace, corpus: CorpusRecord, tokenizer: WorkbenchTokenizer) -> TokenizerRecord:
    """Save a tokenizer's files in the home (content-addressed) and record it as trained on `corpus`."""
    folder = save_content_addressed(tokenizer, ws.layout.tokenizers_dir)
    return ws.store.add_tokenizer(
        corpus_id=corpus.id,
        type=tokenizer.config.type,
        vocab_size=tokenizer.vocab_size,
        lowercase=tokenizer.config.lowercase,
        path=str(folder),
        fingerprint=tokenizer.fingerprint(),
        config=tokenizer.config.to_dict(),
    )


def save_content_addressed(tokenizer: WorkbenchTokenizer, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / tokenizer.fingerprint()[:16]
    if folder.exists():
        return folder
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        tokenizer.save(staging)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def tokenizer_for_run(
    ws: Workspace,
    corpus: CorpusRecord,
    tokenizer_id: int | None,
    progress: Callable[[int], None] | None = None,
) -> TokenizerRecord:
    """The tokenizer a run asked for; else the corpus' latest one; else a default WordPiece trained now."""
    if tokenizer_id is not None:
        record = ws.store.get_tokenizer(tokenizer_id)
        if record is None:
            known = ", ".join(str(t.id) for t in ws.store.list_tokenizers()) or "none yet"
            raise UserError(f"no tokenizer with id {tokenizer_id}; known ids: {known}")
        return record
    trained = ws.store.list_tokenizers(corpus_id=corpus.id)
    if trained:
        return max(trained, key=lambda t: t.id)
    return train_tokenizer_for(ws, corpus, DEFAULT_TOKENIZER, progress)


def load_tokenizer(record: TokenizerRecord) -> WorkbenchTokenizer:
    return load_tokenizer_folder(Path(record.path), f"tokenizer {record.id}")


def load_tokenizer_folder(folder: Path, name: str = "the tokenizer") -> WorkbenchTokenizer:
    if not Path(folder, "tokenizer.json").exists():
        raise UserError(f"{name}'s files are missing from {folder}; train it again")
    return WorkbenchTokenizer.load(Path(folder))
