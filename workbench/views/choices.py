"""What the user's current choices resolve to: the tokenizer of the current corpus, and the one a masking preview
uses when that corpus has none yet.

The front ends hold a corpus name (None for the bundled sample) and an optional tokenizer id. The Model panel
needs the current tokenizer's vocabulary size when one exists; the Masking panel always needs some tokenizer
and falls back to the sample corpus' default one, trained on first use (seconds), rather than training on a
user's corpus just to draw a preview. The read-only lookups are cheap enough for a GUI thread.
"""

from __future__ import annotations

from typing import Callable

from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, ensure_sample_registered
from workbench.jobs.tokenizers import tokenizer_for_run
from workbench.jobs.workspace import Workspace
from workbench.store.runstore import RunStore, TokenizerRecord


def current_tokenizer(store: RunStore, corpus_name: str | None, tokenizer_id: int | None) -> TokenizerRecord | None:
    """The chosen tokenizer, else the newest one trained on the current corpus, else None (nothing is trained)."""
    if tokenizer_id is not None:
        return store.get_tokenizer(tokenizer_id)
    return _latest_of(store, corpus_name or SAMPLE_CORPUS_NAME)


def find_preview_tokenizer(
    store: RunStore, corpus_name: str | None, tokenizer_id: int | None
) -> TokenizerRecord | None:
    """`current_tokenizer`, else the sample corpus' newest; None means one must be trained first."""
    return current_tokenizer(store, corpus_name, tokenizer_id) or _latest_of(store, SAMPLE_CORPUS_NAME)


def preview_tokenizer(
    ws: Workspace,
    corpus_name: str | None,
    tokenizer_id: int | None,
    progress: Callable[[int], None] | None = None,
) -> TokenizerRecord:
    """`find_preview_tokenizer`, training the sample corpus' default tokenizer when there is none at all."""
    found = find_preview_tokenizer(ws.store, corpus_name, tokenizer_id)
    if found is not None:
        return found
    return tokenizer_for_run(ws, ensure_sample_registered(ws), None, progress)


def _latest_of(store: RunStore, corpus_name: str) -> TokenizerRecord | None:
    corpus = store.get_corpus(corpus_name)
    if corpus is None:
        return None
    trained = store.list_tokenizers(corpus_id=corpus.id)
    return max(trained, key=lambda t: t.id) if trained else None
