"""Masking settings checked against what they do: a mask/random/keep split that always sums to 100, and the
proportions measured by masking a large sample of real text exactly as training would.

`prepare_source` finds (or trains) the preview tokenizer and encodes the first documents of the corpus into
one token stream (`encode_sample`: each document followed by [SEP], like the token cache); `measure_masking`
packs that stream into [CLS] blocks and runs the `Masker` over them, counting what was selected and how. The Masking panel shows these numbers beside the ones the user set, so a
strategy whose real rate differs from the nominal one (whole words, spans cut at the budget) shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterable, Protocol, Sequence

import numpy as np
import torch

from workbench.core.masking import KEPT, REPLACED_MASK, REPLACED_RANDOM, Masker
from workbench.core.packing import PackedBlocks
from workbench.core.tokenization import WorkbenchTokenizer
from workbench.jobs.corpora import SAMPLE_CORPUS_NAME, documents, get_corpus, rescan
from workbench.jobs.errors import UserError
from workbench.jobs.tokenizers import load_tokenizer
from workbench.jobs.workspace import Workspace
from workbench.settings.masking import MaskingConfig
from workbench.store.runstore import TokenizerRecord
from workbench.views.choices import find_preview_tokenizer, preview_tokenizer

SPLIT_TOTAL = 100
# Which parts absorb a change to part i (mask, random, keep), in order: keep goes first because it is
# the rest; a change to keep itself moves random.
_ABSORBERS = {0: (2, 1), 1: (2, 0), 2: (1, 0)}
MEASURE_TOKENS = 200_000


class MaskingTokenizer(Protocol):
    vocab_size: int
    mask_id: int
    cls_id: int
    sep_id: int
    pad_id: int
    special_ids: list[int]

    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...

    def word_start_mask(self, input_ids: torch.Tensor) -> torch.Tensor: ...


def rebalance_split(split: Sequence[int], index: int, value: int) -> tuple[int, int, int]:
    """Set part `index` of a (mask, random, keep) split in whole percents to `value` (clamped to 0-100); the
    difference comes out of keep first (out of random when keep changes), then out of the remaining part, so
    the three always sum to 100."""
    parts = [min(max(int(p), 0), SPLIT_TOTAL) for p in split]
    parts[index] = min(max(int(value), 0), SPLIT_TOTAL)
    excess = sum(parts) - SPLIT_TOTAL
    for j in _ABSORBERS[index]:
        new = min(max(parts[j] - excess, 0), SPLIT_TOTAL)
        excess -= parts[j] - new
        parts[j] = new
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class TokenSample:
    """An encoded prefix of a corpus: one stream of ids, each document followed by [SEP]. Packs like a
    TokenCache (`PackedBlocks` reads `.ids` and `.n_tokens`)."""

    ids: np.ndarray  # (N,) int64
    n_docs: int

    @property
    def n_tokens(self) -> int:
        return int(self.ids.shape[0])


def encode_sample(
    texts: Iterable[str],
    tokenizer: MaskingTokenizer,
    min_tokens: int = MEASURE_TOKENS,
    batch_docs: int = 256,
    cancelled: Callable[[], bool] | None = None,
) -> TokenSample:
    """Encode documents until the stream holds at least `min_tokens` ids (or the texts run out)."""
    chunks: list[np.ndarray] = []
    n_tokens = n_docs = 0
    texts = iter(texts)
    while n_tokens < min_tokens and not (cancelled and cancelled()):
        batch = list(islice(texts, batch_docs))
        if not batch:
            break
        for ids in tokenizer.encode_batch(batch):
            chunks.append(np.asarray([*ids, tokenizer.sep_id], dtype=np.int64))
            n_tokens += len(ids) + 1
        n_docs += len(batch)
    ids = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    return TokenSample(ids=ids, n_docs=n_docs)


def corpus_sample(
    ws: Workspace,
    corpus_name: str | None,
    tokenizer: MaskingTokenizer,
    min_tokens: int = MEASURE_TOKENS,
    cancelled: Callable[[], bool] | None = None,
) -> TokenSample:
    """The first documents of a corpus (None: the bundled sample), encoded up to `min_tokens`."""
    corpus = get_corpus(ws, corpus_name)
    return encode_sample(documents(corpus, rescan(ws, corpus)), tokenizer, min_tokens, cancelled=cancelled)


@dataclass(frozen=True)
class MaskingSource:
    """What a masking preview and its measurement need: a tokenizer and an encoded sample of the corpus."""

    corpus_name: str
    record: TokenizerRecord
    tokenizer: WorkbenchTokenizer
    sample: TokenSample | None  # None when the corpus could not be read (sample_error says why)
    sample_error: str | None
    trained: bool  # a tokenizer was trained (and recorded) to get here


def prepare_source(
    ws: Workspace,
    corpus_name: str | None,
    tokenizer_id: int | None,
    report: Callable[[str], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> MaskingSource:
    """The preview tokenizer (trained if there is none at all) and `corpus_sample` of the current corpus."""
    report = report or (lambda stage: None)
    trained = find_preview_tokenizer(ws.store, corpus_name, tokenizer_id) is None
    if trained:
        report("preparing a tokenizer")
    record = preview_tokenizer(ws, corpus_name, tokenizer_id)
    tokenizer = load_tokenizer(record)
    report("encoding a sample of the corpus")
    try:
        sample, error = corpus_sample(ws, corpus_name, tokenizer, cancelled=cancelled), None
    except (UserError, ValueError) as err:  # a preview needs only the tokenizer; measuring needs the corpus
        sample, error = None, str(err)
    return MaskingSource(corpus_name or SAMPLE_CORPUS_NAME, record, tokenizer, sample, error, trained)


@dataclass(frozen=True)
class MaskingStats:
    """Counts over every selectable (real, non-special) token of the sample."""

    tokens: int
    selected: int
    masked: int
    randomized: int
    kept: int
    runs: int  # maximal stretches of consecutive selected tokens
    run_words: int  # words inside those stretches
    blocks: int
    max_len: int

    @property
    def selection_rate(self) -> float:
        return self.selected / self.tokens if self.tokens else 0.0

    def shares(self) -> tuple[float, float, float]:
        """Measured (mask, random, keep) fractions of the selected tokens."""
        total = max(self.selected, 1)
        return self.masked / total, self.randomized / total, self.kept / total

    @property
    def mean_run_words(self) -> float | None:
        """Mean length in words of a selected stretch: the span length, where touching spans count as one."""
        return self.run_words / self.runs if self.runs else None


def measure_masking(
    sample: TokenSample,
    tokenizer: MaskingTokenizer,
    config: MaskingConfig,
    max_len: int = 128,
    batch_size: int = 128,
    cancelled: Callable[[], bool] | None = None,
) -> MaskingStats | None:
    """Mask every block of `sample` (block i gets seq_id i, epoch 0) and count; None if cancelled midway."""
    blocks = PackedBlocks(sample, max_len, tokenizer.cls_id, tokenizer.pad_id)
    masker = Masker(config, tokenizer.vocab_size, tokenizer.mask_id, tokenizer.special_ids)
    is_special = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
    is_special[tokenizer.special_ids] = True
    totals = np.zeros(7, dtype=np.int64)
    for start in range(0, len(blocks), batch_size):
        if cancelled and cancelled():
            return None
        indices = range(start, min(start + batch_size, len(blocks)))
        batch = blocks.get_batch(indices)
        input_ids = batch["input_ids"]  # (B, L)
        word_start = tokenizer.word_start_mask(input_ids)  # (B, L)
        masked = masker(input_ids, batch["attention_mask"], word_start if config.strategy != "token" else None,
                        torch.tensor(list(indices)))
        selectable = batch["attention_mask"].bool() & ~is_special[input_ids]
        totals += _count(selectable, masked.replacement, word_start)
    tokens, selected, n_mask, n_random, n_kept, runs, run_words = (int(x) for x in totals)
    return MaskingStats(tokens, selected, n_mask, n_random, n_kept, runs, run_words, len(blocks), max_len)


def _count(selectable: torch.Tensor, replacement: torch.Tensor, word_start: torch.Tensor) -> np.ndarray:
    selected = replacement != 0  # (B, L)
    previous = torch.zeros_like(selected)
    previous[:, 1:] = selected[:, :-1]
    run_start = selected & ~previous
    # a stretch's first token opens a word even when it is a piece cut off by a block start
    words = selected & (word_start | run_start)
    counts = [selectable.sum(), selected.sum(), (replacement == REPLACED_MASK).sum(),
              (replacement == REPLACED_RANDOM).sum(), (replacement == KEPT).sum(), run_start.sum(), words.sum()]
    return np.array([int(c) for c in counts], dtype=np.int64)
