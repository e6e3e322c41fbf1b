"""What the Data and Tokenizer panels show, computed without Qt: which problems skipped a file, a corpus' first
documents, token frequencies over a corpus, a tokenizer's vocabulary table and the pieces of a typed text.

Previews and frequency counts stream the corpus lazily and stop early, so a large corpus costs no full scan:
files the scan skipped are skipped again here (their reasons are in the corpus record's `problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice, takewhile
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

import numpy as np

from workbench.core.corpus import CorpusError, expand_paths, iter_documents
from workbench.jobs.corpora import corpus_options
from workbench.jobs.errors import UserError
from workbench.jobs.workspace import Workspace
from workbench.store.records import CorpusRecord, TokenizerRecord

if TYPE_CHECKING:  # the Data panel imports this module before torch (which tokenization needs) is loaded
    from workbench.core.tokenization import WorkbenchTokenizer

PREVIEW_DOCUMENTS = 20
PREVIEW_CHARS = 2000  # per document: a 1 MiB paragraph must not freeze the preview
FREQUENCY_DOCUMENT_CAP = 20_000  # enough for stable frequencies; a big corpus would take minutes


def is_skipped(problem: str) -> bool:
    """Whether a corpus problem (as stored, one line) made the scan skip a whole file."""
    return problem.endswith("; file skipped")  # how core.corpus.Problem writes a fatal problem


def stream_documents(record: CorpusRecord) -> Iterator[str]:
    """The corpus' documents in scan order, read lazily; unreadable files are skipped, as the scan did."""
    options = corpus_options(record)
    files, _ = expand_paths(record.paths, options)
    for file in files:
        try:
            yield from iter_documents([file], options)
        except CorpusError:
            continue  # skipped when the corpus was added, or broken since; either way not part of it


def preview_documents(
    record: CorpusRecord, limit: int = PREVIEW_DOCUMENTS, max_chars: int = PREVIEW_CHARS
) -> list[str]:
    """The first `limit` documents, each cut to `max_chars` characters (an ellipsis marks the cut)."""
    documents = islice(stream_documents(record), limit)
    return [doc if len(doc) <= max_chars else doc[:max_chars] + " …" for doc in documents]


@dataclass(frozen=True)
class TokenFrequencies:
    """How often each token id occurs in the first `documents` documents; `complete` is False when the
    cap stopped the count before the end of the corpus."""

    counts: np.ndarray  # (V,) int64
    documents: int
    complete: bool

    @property
    def tokens(self) -> int:
        return int(self.counts.sum())


def count_token_frequencies(
    tokenizer: WorkbenchTokenizer,
    texts: Iterable[str],
    max_documents: int = FREQUENCY_DOCUMENT_CAP,
    batch_size: int = 500,
    progress: Callable[[int], None] | None = None,
) -> TokenFrequencies:
    """Encode up to `max_documents` texts in batches and count every id; `progress` gets documents done."""
    counts = np.zeros(tokenizer.vocab_size, dtype=np.int64)
    texts = iter(texts)
    done = 0
    while done < max_documents:
        batch = list(islice(texts, min(batch_size, max_documents - done)))
        if not batch:
            break
        ids = np.fromiter((i for doc in tokenizer.encode_batch(batch) for i in doc), dtype=np.int64)
        counts += np.bincount(ids, minlength=len(counts))
        done += len(batch)
        if progress is not None:
            progress(done)
    complete = done < max_documents or next(texts, None) is None
    return TokenFrequencies(counts, done, complete)


def tokenizer_frequencies(
    ws: Workspace,
    record: TokenizerRecord,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[TokenFrequencies | None, int]:
    """Tokenizer `record`'s token frequencies over its corpus (None once `cancelled`) and the corpus' documents."""
    from workbench.jobs.tokenizers import load_tokenizer  # torch: see the TYPE_CHECKING note above

    corpus = ws.store.get_corpus(record.corpus_id)
    if corpus is None:
        raise UserError(f"the corpus of tokenizer {record.id} is gone")
    tokenizer = load_tokenizer(record)  # a copy of its own: the GUI thread encodes with the one it shows
    total = int(corpus.stats["documents"])
    wanted = min(total, FREQUENCY_DOCUMENT_CAP)
    texts = takewhile(lambda _: not cancelled(), stream_documents(corpus))
    counted = count_token_frequencies(tokenizer, texts,
                                      progress=None if progress is None else lambda done: progress(done, wanted))
    return None if cancelled() else counted, total


@dataclass(frozen=True)
class Vocabulary:
    """A tokenizer's vocabulary by id: token strings and per-id flags, as arrays for fast sorting."""

    tokens: list[str]
    word_start: np.ndarray  # (V,) bool: the token begins a word on its own (specials included)
    special: np.ndarray  # (V,) bool


def vocabulary_table(tokenizer: WorkbenchTokenizer) -> Vocabulary:
    tokens = [tokenizer.id_to_token(i) or "" for i in range(tokenizer.vocab_size)]
    special = np.zeros(len(tokens), dtype=bool)
    special[tokenizer.special_ids] = True
    return Vocabulary(tokens, tokenizer.word_start_lookup.numpy().copy(), special)


@dataclass(frozen=True)
class Piece:
    """One token of a typed text: its id, its string in the vocabulary, and whether it begins a word."""

    id: int
    token: str
    word_start: bool
    special: bool


def text_pieces(tokenizer: WorkbenchTokenizer, text: str) -> list[Piece]:
    """`text` as the model would see it (no [CLS]/[SEP]), with the same word starts masking uses."""
    import torch  # already loaded with the tokenizer; see the TYPE_CHECKING note above

    ids = tokenizer.encode(text)
    starts = tokenizer.word_start_mask(torch.tensor(ids, dtype=torch.long)).tolist()  # (T,)
    specials = set(tokenizer.special_ids)
    return [Piece(i, tokenizer.id_to_token(i) or "", start, i in specials) for i, start in zip(ids, starts)]
