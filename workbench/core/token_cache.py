"""The encoded corpus on disk: one flat stream of token ids, memory-mapped, keyed by content.

A corpus is encoded once per (content, tokenizer) pair. Documents are streamed through the tokenizer in
batches and appended to a raw `ids.bin` (uint16 when the vocabulary fits, uint32 otherwise), each
followed by the tokenizer's [SEP]; `offsets.bin` holds the int64 start of every document in the stream
(n_docs + 1 entries, the last one is the stream length). Nothing is held in memory beyond one batch.
The cache is built in a temporary folder next to its final place and renamed into it only when every
file is written and synced, so a crash or an exception leaves either a complete cache or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

CACHE_VERSION = 1
IDS_FILE = "ids.bin"
OFFSETS_FILE = "offsets.bin"
META_FILE = "meta.json"
COUNTS_FILE = "token_counts.npy"
COUNT_CHUNK = 1 << 20  # tokens per bincount pass, which widens them to int64: 8 MB on any corpus size
# characters per encoding batch as well as documents: the tokenizer's encodings take some 100 bytes a
# character, and a batch of 1,000 documents of the corpus reader's largest size (1 MiB) would be 100 GB
BATCH_CHARS = 1 << 20


def ids_dtype(vocab_size: int) -> np.dtype:
    """The narrowest unsigned type that holds every id of a vocabulary."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


def cache_key(content_key: str, tokenizer_fingerprint: str, dtype: np.dtype) -> str:
    text = f"{content_key}\0{tokenizer_fingerprint}\0{np.dtype(dtype).name}\0v{CACHE_VERSION}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TokenCache:
    """A built cache: `ids` (read-only memmap over the stream) and `doc_offsets` (int64, n_docs + 1)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta = json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        self.dtype = np.dtype(self.meta["dtype"])
        self.n_tokens = int(self.meta["n_tokens"])
        self.n_docs = int(self.meta["n_docs"])
        self.ids = _read_only_array(self.path / IDS_FILE, self.dtype, self.n_tokens)
        self.doc_offsets = _read_only_array(self.path / OFFSETS_FILE, np.dtype(np.int64), self.n_docs + 1)

    def document(self, i: int) -> np.ndarray:
        """The ids of document i, without its trailing [SEP]."""
        return self.ids[self.doc_offsets[i] : self.doc_offsets[i + 1] - 1]

    def token_counts(self, vocab_size: int) -> np.ndarray:
        """How often each id occurs in the stream (int64, length vocab_size); stored beside the cache."""
        stored = self.path / COUNTS_FILE
        if stored.exists():
            counts = np.load(stored)
            if len(counts) == vocab_size:
                return counts
        counts = np.zeros(vocab_size, dtype=np.int64)
        # Plain reads rather than the memmap: every mapped page touched stays in this process's RSS, and this
        # pass touches the whole stream (what the 1 GB ingestion target measures).
        with open(self.path / IDS_FILE, "rb") as f:
            for start in range(0, self.n_tokens, COUNT_CHUNK):
                chunk = np.fromfile(f, dtype=self.dtype, count=min(COUNT_CHUNK, self.n_tokens - start))
                if int(chunk.max()) >= vocab_size:
                    raise ValueError(f"token id {int(chunk.max())} is outside a vocabulary of {vocab_size}")
                counts += np.bincount(chunk, minlength=vocab_size)
        _save_quietly(stored, counts)
        return counts


def _read_only_array(path: Path, dtype: np.dtype, length: int) -> np.ndarray:
    if length == 0:  # np.memmap refuses empty files
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(length,))


def _save_quietly(path: Path, array: np.ndarray) -> None:
    """Store a derived array atomically; a read-only cache folder only means it is recomputed next time."""
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, array)
        os.replace(tmp, path)
    except OSError:
        pass


def build_or_load_cache(
    texts: Callable[[], Iterable[str]],
    content_key: str,
    tokenizer,
    cache_root: Path,
    progress: Callable[[int], None] | None = None,
    batch_size: int = 1000,
    batch_chars: int = BATCH_CHARS,
) -> TokenCache:
    """Return the cache of `texts()` under `tokenizer`, encoding it only if no complete one exists.

    `content_key` must change whenever the texts do (the corpus scan's content hash, the split...).
    `progress` is called with the number of documents encoded so far. A batch holds at most `batch_size`
    documents and, past its first document, at most `batch_chars` characters.
    """
    cache_root = Path(cache_root)
    dtype = ids_dtype(tokenizer.vocab_size)
    final = cache_root / f"tokens-{cache_key(content_key, tokenizer.fingerprint(), dtype)[:32]}"
    if (final / META_FILE).exists():
        return TokenCache(final)
    if final.exists():  # not ours: only complete caches are ever renamed into place
        shutil.rmtree(final)
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=cache_root))
    try:
        n_tokens, n_docs = _encode_stream(_batches(texts(), batch_size, batch_chars), tokenizer, dtype, tmp, progress)
        meta = {
            "version": CACHE_VERSION, "content_key": content_key, "tokenizer_fingerprint": tokenizer.fingerprint(),
            "dtype": dtype.name, "vocab_size": tokenizer.vocab_size, "sep_id": tokenizer.sep_id,
            "n_tokens": n_tokens, "n_docs": n_docs,
        }
        _write_synced(tmp / META_FILE, json.dumps(meta, indent=2).encode("utf-8"))
        _fsync_dir(tmp)
        _publish(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after a successful rename
    return TokenCache(final)


def _batches(texts: Iterable[str], size: int, max_chars: int) -> Iterator[list[str]]:
    batch: list[str] = []
    chars = 0
    for text in texts:
        if batch and (len(batch) == size or chars + len(text) > max_chars):
            yield batch
            batch, chars = [], 0
        batch.append(text)
        chars += len(text)
    if batch:
        yield batch


def _encode_stream(
    batches: Iterable[list[str]], tokenizer, dtype: np.dtype, folder: Path, progress: Callable[[int], None] | None
) -> tuple[int, int]:
    """Append every document's ids and a [SEP] to ids.bin and its start to offsets.bin; return counts."""
    sep = np.array([tokenizer.sep_id], dtype=dtype)
    n_tokens = n_docs = 0
    with open(folder / IDS_FILE, "wb") as ids_f, open(folder / OFFSETS_FILE, "wb") as off_f:
        off_f.write(np.zeros(1, dtype=np.int64).tobytes())
        for batch in batches:
            docs = tokenizer.encode_batch(batch)
            pieces = [part for doc in docs for part in (np.asarray(doc, dtype=dtype), sep)]
            ids_f.write(np.concatenate(pieces).tobytes())
            lengths = np.fromiter((len(doc) + 1 for doc in docs), dtype=np.int64, count=len(docs))
            off_f.write((n_tokens + np.cumsum(lengths)).tobytes())
            n_tokens += int(lengths.sum())
            n_docs += len(docs)
            if progress is not None:
                progress(n_docs)
        for f in (ids_f, off_f):
            f.flush()
            os.fsync(f.fileno())
    return n_tokens, n_docs


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # Windows cannot open a folder for fsync; NTFS renames are journaled
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> None:
    """Rename the finished folder into place; if a concurrent build won the race, keep theirs."""
    try:
        os.replace(tmp, final)
    except OSError:
        if not (final / META_FILE).exists():
            raise
        return
    _fsync_dir(final.parent)
