"""The tokenizer lab's figures: how a tokenizer cuts a corpus, and several tokenizers side by side.

Words are the same for every tokenizer, so the figures compare: runs of letters and digits, and each punctuation
mark on its own (BERT's pre-tokenization, `WORD_PATTERN`). Text is cut at whitespace into units ("moo." is one
unit of two words); each distinct unit is encoded alone after a space, which is exactly its cut in running text
for the workbench's tokenizers (their normalizers collapse whitespace, and every unit gets one space marker) and
for imported BERT and RoBERTa ones (RoBERTa's first word of a text, without a space before it, is the exception),
and each piece belongs to the word in which it starts (offsets), so a word's pieces are those the tokenizer
really makes there.

Figures are counted over distinct units, each weighted by its count: a corpus is read once with `str.split`,
its distinct units are encoded in one `encode_batch` call (Rust threads), and numpy sums, so a 10 MB corpus takes
seconds (bench/tokenizer_lab.py). Fertility (pieces per word), the share of words cut into 1, 2, 3 and 4+ pieces
("continued words", Rust et al. 2021, "How good is your tokenizer?"), the UNK rate of pieces and of words, the
share of the vocabulary never used, characters per piece, the Rényi efficiency of the pieces' frequencies (Zouhar
et al. 2023) and the longest pieces used.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Iterable, Sequence

import numpy as np

from workbench.core.tokenization import WorkbenchTokenizer

WORD_PATTERN = re.compile(r"\w+|[^\w\s]")
HISTOGRAM_BINS = 10  # pieces per word 1 .. 9, then "10+"
LONGEST = 15
RENYI_ALPHA = 2.5
WORD_START = "▁"  # how a piece that begins a word is written when vocabularies of different families are compared


@dataclass(frozen=True)
class TokenizerStats:
    name: str
    words: int  # running words counted
    word_types: int
    pieces: int  # the pieces those words are cut into
    fertility: float  # pieces per word
    histogram: list[int]  # words cut into 1, 2, ..., 9 pieces, then 10 or more (HISTOGRAM_BINS entries)
    split_shares: dict[str, float]  # share of words in 1, 2, 3 and 4+ pieces
    unk_rate: float  # share of pieces that are the unknown token
    unk_word_rate: float  # share of words with at least one unknown piece
    vocab_size: int  # without the special tokens
    unused_share: float  # share of the (non-special) vocabulary never used on this text
    chars_per_piece: float  # characters of the words (spaces left out) per piece: how much text a piece carries
    renyi_efficiency: float  # Rényi entropy (alpha 2.5) of piece frequencies / log of the vocabulary size
    longest: list[tuple[str, int]]  # the longest pieces used, with how often
    unk_token: str  # how this tokenizer spells the unknown piece

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AlignedSentence:
    sentence: str
    words: list[str]
    pieces: list[list[list[str]]]  # [tokenizer][word] -> the word's pieces


@dataclass(frozen=True)
class Comparison:
    stats: list[TokenizerStats]
    overlap: list[tuple[str, str, int, float]]  # (a, b, shared pieces, Jaccard) for every pair of tokenizers
    sentences: list[AlignedSentence]

    def to_dict(self) -> dict:
        return {"tokenizers": [s.to_dict() for s in self.stats],
                "overlap": [dict(zip(("a", "b", "shared", "jaccard"), row)) for row in self.overlap],
                "sentences": [asdict(s) for s in self.sentences]}


def words_of(text: str) -> list[str]:
    return WORD_PATTERN.findall(text)


def count_units(texts: Iterable[str]) -> Counter[str]:
    """How often each whitespace-separated unit occurs in the texts."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(text.split())
    return counts


def cut_units(tokenizer: WorkbenchTokenizer, units: Sequence[str]) -> list[list[list[int]]]:
    """Each unit's words as lists of piece ids: the unit encoded alone after one space (as it stands in running
    text: an imported RoBERTa marks a word's start only after a space), each piece given to the word it starts in."""
    spaced = [" " + unit for unit in units]
    encodings = tokenizer.tokenizer.encode_batch(spaced, add_special_tokens=False) if units else []
    cut = []
    for unit, encoding in zip(units, encodings):
        if unit.isalnum() or len(unit) == 1:  # most units are one word (str.isalnum: C speed): all pieces its own
            cut.append([encoding.ids])
            continue
        starts = [m.start() for m in WORD_PATTERN.finditer(unit)]
        words: list[list[int]] = [[] for _ in starts]
        for token_id, (begin, _) in zip(encoding.ids, encoding.offsets):
            words[max(bisect_right(starts, begin - 1) - 1, 0)].append(token_id)  # offsets count the space
        cut.append(words)
    return cut


def tokenizer_stats(name: str, tokenizer: WorkbenchTokenizer, units: Counter[str]) -> TokenizerStats:
    """Every figure of one tokenizer on the units counted in `units` (`count_units`)."""
    types = [u for u in units if WORD_PATTERN.search(u)]
    if not types:
        raise ValueError("the text holds no words")
    cut = cut_units(tokenizer, types)
    unit_weights = [units[u] for u in types]
    weights = np.fromiter((w for w, words in zip(unit_weights, cut) for _ in words), dtype=np.int64)  # (W,)
    lengths = np.fromiter((len(p) for words in cut for p in words), dtype=np.int64, count=len(weights))  # (W,)
    flat = np.fromiter((i for words in cut for p in words for i in p), dtype=np.int64,
                       count=int(lengths.sum()))  # (P,)
    owner = np.repeat(np.arange(len(weights)), lengths)  # (P,) the word occurrence of each piece
    usage = np.bincount(flat, weights=weights[owner], minlength=tokenizer.vocab_size)  # (V,) running uses
    words, pieces = int(weights.sum()), int((lengths * weights).sum())
    bins = np.clip(lengths, 1, HISTOGRAM_BINS) - 1
    histogram = np.bincount(bins, weights=weights, minlength=HISTOGRAM_BINS).astype(np.int64)
    unk_words = np.bincount(owner[flat == tokenizer.unk_id], minlength=len(weights)) > 0  # (W,)
    regular = np.ones(tokenizer.vocab_size, dtype=bool)
    regular[tokenizer.special_ids] = False
    return TokenizerStats(
        name=name, words=words, word_types=len({w for u in types for w in WORD_PATTERN.findall(u)}), pieces=pieces,
        fertility=pieces / words, histogram=histogram.tolist(),
        split_shares={"1": float(histogram[0] / words), "2": float(histogram[1] / words),
                      "3": float(histogram[2] / words), "4+": float(histogram[3:].sum() / words)},
        unk_rate=float(usage[tokenizer.unk_id] / pieces) if pieces else 0.0,
        unk_word_rate=float(weights[unk_words].sum() / words),
        vocab_size=int(regular.sum()),
        unused_share=float((usage[regular] == 0).sum() / max(int(regular.sum()), 1)),
        chars_per_piece=sum(len(u) * w for u, w in zip(types, unit_weights)) / pieces,
        renyi_efficiency=renyi_efficiency(usage[regular]),
        longest=_longest(tokenizer, usage),
        unk_token=tokenizer.special_tokens["unk"],
    )


def renyi_efficiency(counts: np.ndarray, alpha: float = RENYI_ALPHA) -> float:
    """H_alpha of the frequency distribution over log |V| (Zouhar et al. 2023, "Tokenization and the Noiseless
    Channel": with alpha 2.5 it tracks downstream quality better than fertility); 0 to 1, higher is more even."""
    total = counts.sum()
    if total == 0 or len(counts) < 2:
        return 0.0
    p = counts[counts > 0] / total
    return float(np.log((p ** alpha).sum()) / (1 - alpha) / np.log(len(counts)))


def _longest(tokenizer: WorkbenchTokenizer, usage: np.ndarray) -> list[tuple[str, int]]:
    used = [int(i) for i in np.flatnonzero(usage) if i not in tokenizer.special_ids]
    surfaces = {i: piece_surface(tokenizer, i) for i in used}
    longest = heapq.nsmallest(LONGEST, used, key=lambda i: (-len(surfaces[i]), -usage[i], i))
    return [(tokenizer.id_to_token(i), int(usage[i])) for i in longest]


def piece_surface(tokenizer: WorkbenchTokenizer, token_id: int) -> str:
    """A piece's text without its family's marker ("##ing", "Ġthe", "▁the" -> "ing", "the", "the")."""
    token = tokenizer.id_to_token(token_id) or ""
    if tokenizer.config.type == "wordpiece":
        return token[2:] if token.startswith("##") else token
    return token[1:] if token[:1] in ("Ġ", WORD_START) and len(token) > 1 else token


def canonical_vocabulary(tokenizer: WorkbenchTokenizer) -> set[str]:
    """The vocabulary in one spelling for every family: a word-initial piece as "▁the", any other as "ing"."""
    starts = tokenizer.word_start_lookup.tolist()
    vocab = set()
    for token_id in range(tokenizer.vocab_size):
        if token_id in tokenizer.special_ids:
            continue
        surface = piece_surface(tokenizer, token_id)
        vocab.add(WORD_START + surface if starts[token_id] else surface)
    return vocab


def vocabulary_overlap(names: Sequence[str],
                       tokenizers: Sequence[WorkbenchTokenizer]) -> list[tuple[str, str, int, float]]:
    """(a, b, pieces both hold, Jaccard) for every pair, the specials left out and markers made alike."""
    vocabs = [canonical_vocabulary(t) for t in tokenizers]
    rows = []
    for (i, a), (j, b) in combinations(enumerate(vocabs), 2):
        shared = len(a & b)
        rows.append((names[i], names[j], shared, shared / len(a | b) if a | b else 0.0))
    return rows


def align_sentences(tokenizers: Sequence[WorkbenchTokenizer], sentences: Sequence[str]) -> list[AlignedSentence]:
    """Each sentence's words and, per tokenizer, the pieces it cuts each word into there."""
    aligned = []
    for sentence in sentences:
        units = sentence.split()
        pieces = [[[tokenizer.id_to_token(i) for i in word] for unit in cut_units(tokenizer, units) for word in unit]
                  for tokenizer in tokenizers]
        aligned.append(AlignedSentence(sentence, words_of(sentence), pieces))
    return aligned


def compare_tokenizers(names: Sequence[str], tokenizers: Sequence[WorkbenchTokenizer], units: Counter[str],
                       sentences: Sequence[str]) -> Comparison:
    """The figures of each tokenizer on the same words, their vocabularies' overlap, and aligned sentences."""
    stats = [tokenizer_stats(name, tokenizer, units) for name, tokenizer in zip(names, tokenizers)]
    return Comparison(stats, vocabulary_overlap(names, tokenizers), align_sentences(tokenizers, sentences))
