"""The tokenizer lab as a job: tokenizers named the way a user names them, text from a corpus, a file or a
paste, and `core.tokenizer_stats.compare_tokenizers` on them (the CLI's `tokenizer compare`, the window's Lab).

A tokenizer is named by its id in the workspace (`3`) or as a run's (`run:NAME` or `run:ID`): the tokenizer a
pretraining run was trained with, or the one an imported Hugging Face model came with.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from workbench.core.tokenization import WorkbenchTokenizer
from workbench.core.tokenizer_stats import Comparison, compare_tokenizers
from workbench.jobs.corpora import documents, get_corpus, rescan
from workbench.jobs.errors import UserError
from workbench.jobs.probe import run_tokenizer
from workbench.jobs.tokenizers import load_tokenizer
from workbench.jobs.workspace import Workspace

RUN_PREFIX = "run:"
DEFAULT_SENTENCES = 5
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class LabText:
    """What the figures are counted on: its units, a few of its sentences, and where it came from."""

    source: str
    units: Counter[str]
    sentences: list[str]


def resolve_tokenizer(ws: Workspace, ref: str) -> tuple[str, WorkbenchTokenizer]:
    """(a display name, the tokenizer) for `3` (a workspace tokenizer) or `run:NAME` (a run's)."""
    ref = ref.strip()
    if ref.startswith(RUN_PREFIX):
        run = ref[len(RUN_PREFIX):]
        return f"run {run}", run_tokenizer(ws, run)
    if not ref.isdigit():
        raise UserError(f"name a tokenizer by its id (see `tokenizer list`) or a run's as run:NAME; got {ref!r}")
    record = ws.store.get_tokenizer(int(ref))
    if record is None:
        known = ", ".join(str(t.id) for t in ws.store.list_tokenizers()) or "none yet"
        raise UserError(f"no tokenizer with id {ref}; known ids: {known}")
    return f"#{record.id} {record.type}", load_tokenizer(record)


def first_sentences(texts: Iterable[str], n: int) -> list[str]:
    """The first `n` sentences (cut after . ! ? or at line ends) of the texts."""
    sentences: list[str] = []
    for text in texts:
        sentences += [s.strip() for s in SENTENCE_END.split(text) if s.strip()][: n - len(sentences)]
        if len(sentences) >= n:
            break
    return sentences


def lab_text(ws: Workspace, corpus: str | None = None, file: str | Path | None = None, text: str | None = None,
             n_sentences: int = DEFAULT_SENTENCES) -> LabText:
    """A pasted text, else a file's text, else a corpus' documents (None: the bundled sample)."""
    if text is not None:
        texts, source = [text], "the pasted text"
    elif file is not None:
        try:
            texts, source = [Path(file).read_text(encoding="utf-8")], str(file)
        except (OSError, UnicodeDecodeError) as error:
            raise UserError(f"cannot read {file}: {error}") from error
    else:
        record = get_corpus(ws, corpus)
        texts, source = documents(record, rescan(ws, record)), f"corpus {record.name!r}"
    units: Counter[str] = Counter()
    sentences: list[str] = []
    for chunk in texts:
        units.update(chunk.split())  # count_units, one text at a time
        if len(sentences) < n_sentences:
            sentences += first_sentences([chunk], n_sentences - len(sentences))
    if not units:
        raise UserError(f"{source} holds no words")
    return LabText(source, units, sentences)


def compare(ws: Workspace, refs: Sequence[str], corpus: str | None = None, file: str | Path | None = None,
            text: str | None = None, n_sentences: int = DEFAULT_SENTENCES) -> tuple[LabText, Comparison]:
    """Every tokenizer named in `refs` on the same text: figures, vocabulary overlap, aligned sentences."""
    if not refs:
        raise UserError("name at least one tokenizer")
    named = [resolve_tokenizer(ws, ref) for ref in refs]
    source = lab_text(ws, corpus, file, text, n_sentences)
    names = [name for name, _ in named]
    return source, compare_tokenizers(names, [t for _, t in named], source.units, source.sentences)
