"""Minimal-pair suites (BLiMP, Warstadt et al. 2020): pairs of sentences that differ in one place, the good one
grammatical, the bad one not. A model passes a pair when it gives the good sentence a higher pseudo-log-likelihood
(Salazar et al. 2020) than the bad one by more than `TIE_TOLERANCE`: a tie is a failure, so a model that scores
both alike (a constant model, or two sentences that tokenize to the same pieces) gets no credit.

A suite is a TSV file with a header naming the columns `good`, `bad` and (optionally) `phenomenon` (BLiMP's
`sentence_good`, `sentence_bad`, `UID` or `field` are accepted as names), or a JSONL file of objects
{"sentence_good", "sentence_bad", "UID" | "field" | "phenomenon"}: BLiMP's own files, one or several joined.
Accuracy, ties and the mean margin (PLL good - PLL bad) are reported overall and per phenomenon.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing.encoding import ProbeInputError, encode_text
from workbench.core.probing.scoring import PLL_METHODS, batched_plls, check_scorable
from workbench.core.probing.suites import jsonl_records, read_suite_file
from workbench.core.tokenization import WorkbenchTokenizer

# Two sentences' PLLs this close are a tie: batched float32 arithmetic moves a sum of ~30 log-probabilities by
# about 1e-5, so a closer pair is not told apart.
TIE_TOLERANCE = 1e-4
DEFAULT_PHENOMENON = "all"
GOOD_COLUMNS = ("good", "sentence_good")
BAD_COLUMNS = ("bad", "sentence_bad")
PHENOMENON_COLUMNS = ("phenomenon", "uid", "field", "group")


@dataclass(frozen=True)
class MinimalPair:
    good: str
    bad: str
    phenomenon: str


@dataclass(frozen=True)
class PairSuite:
    name: str  # the file's stem
    sha256: str  # of the file's bytes
    pairs: list[MinimalPair]

    def version(self, method: str) -> str:
        """The id its results are stored under: the file and the PLL method (their scores differ)."""
        return hashlib.sha256(f"{self.sha256}\0minimal-pairs\0{method}".encode()).hexdigest()


@dataclass(frozen=True)
class PairResult:
    good: str
    bad: str
    phenomenon: str
    pll_good: float
    pll_bad: float
    correct: bool  # pll_good > pll_bad + TIE_TOLERANCE
    tie: bool


@dataclass(frozen=True)
class PairSuiteResult:
    suite_name: str
    suite_sha256: str  # the suite's version with this method (PairSuite.version)
    metrics: dict[str, Any]  # {"kind", "method", "n_items", "overall": {...}, "groups": {phenomenon: {...}}}
    items: list[PairResult]

    def to_dict(self) -> dict:
        return asdict(self)


def load_pairs(path: str | Path) -> PairSuite:
    """Read and check a TSV or JSONL minimal-pair suite; errors name the file and line."""
    path, pairs, sha256 = read_suite_file(path, _parse_tsv, _parse_jsonl, "minimal-pair suite",
                                           "sentence pairs")
    return PairSuite(path.stem, sha256, pairs)


def _first(names: Sequence[str], header: Sequence[str]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


def _parse_tsv(text: str, path: Path) -> list[MinimalPair]:
    rows = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip().lower() for h in next(rows, [])]
    good, bad, phenomenon = (_first(GOOD_COLUMNS, header), _first(BAD_COLUMNS, header),
                             _first(PHENOMENON_COLUMNS, header))
    if good is None or bad is None:
        raise ProbeInputError(f"{path}: the first line must be a header naming the columns good, bad and "
                              f"(optionally) phenomenon, separated by tabs; got {header}")
    pairs = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(c for c in (good, bad, phenomenon) if c is not None):
            raise ProbeInputError(f"{path}:{line}: expected {len(header)} tab-separated columns; got {len(row)}")
        group = row[phenomenon] if phenomenon is not None else DEFAULT_PHENOMENON
        pairs.append(_pair(row[good], row[bad], group, f"{path}:{line}"))
    return pairs


def _parse_jsonl(text: str, path: Path) -> list[MinimalPair]:
    pairs = []
    for line, record in jsonl_records(text, path):
        fields = {str(k).lower(): v for k, v in record.items()} if isinstance(record, dict) else {}
        good = next((fields[n] for n in GOOD_COLUMNS if isinstance(fields.get(n), str)), None)
        bad = next((fields[n] for n in BAD_COLUMNS if isinstance(fields.get(n), str)), None)
        if good is None or bad is None:
            raise ProbeInputError(f"{path}:{line}: expected {{\"sentence_good\": str, \"sentence_bad\": str, "
                                  f"\"UID\": str}} (BLiMP's layout)")
        group = next((str(fields[n]) for n in PHENOMENON_COLUMNS if fields.get(n)), DEFAULT_PHENOMENON)
        pairs.append(_pair(good, bad, group, f"{path}:{line}"))
    return pairs


def _pair(good: str, bad: str, phenomenon: str, where: str) -> MinimalPair:
    if not good.strip() or not bad.strip():
        raise ProbeInputError(f"{where}: both sentences of a pair must be given")
    return MinimalPair(good.strip(), bad.strip(), phenomenon.strip() or DEFAULT_PHENOMENON)


def pair_outcome(pll_good: float, pll_bad: float) -> tuple[bool, bool]:
    """(correct, tie): correct only when the good sentence scores higher by more than the tolerance."""
    margin = pll_good - pll_bad
    return margin > TIE_TOLERANCE, abs(margin) <= TIE_TOLERANCE


def _scope_metrics(results: Sequence[PairResult]) -> dict[str, float]:
    n = len(results)
    return {"n": n, "accuracy": sum(r.correct for r in results) / n, "ties": sum(r.tie for r in results),
            "mean_margin": sum(r.pll_good - r.pll_bad for r in results) / n}


def pair_metrics(results: Sequence[PairResult], method: str) -> dict[str, Any]:
    """Accuracy, ties and mean margin (and n) overall and per phenomenon (sorted by name)."""
    by_group: dict[str, list[PairResult]] = {}
    for result in results:
        by_group.setdefault(result.phenomenon, []).append(result)
    return {"kind": "minimal-pairs", "method": method, "n_items": len(results),
            "overall": _scope_metrics(results),
            "groups": {name: _scope_metrics(group) for name, group in sorted(by_group.items())}}


def _encode(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, sentence: str) -> tuple[int, ...]:
    ids = encode_text(tokenizer, sentence, model.config.max_length)
    check_scorable(tokenizer, sentence, ids)
    return tuple(ids)


def evaluate_pairs(
    model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, suite: PairSuite, method: str = "original",
    max_rows: int = 1024,
) -> PairSuiteResult:
    """Score both sentences of every pair by PLL (each distinct encoding once, in big batches) and compare them."""
    if method not in PLL_METHODS:
        raise ProbeInputError(f"method must be one of {', '.join(PLL_METHODS)}; got {method!r}")
    encoded = {s: _encode(model, tokenizer, s) for pair in suite.pairs for s in (pair.good, pair.bad)}
    distinct = list(dict.fromkeys(encoded.values()))  # the same pieces score the same: an exact tie
    pll = dict(zip(distinct, batched_plls(model, tokenizer, distinct, method, max_rows)))
    items = []
    for pair in suite.pairs:
        good, bad = pll[encoded[pair.good]], pll[encoded[pair.bad]]
        items.append(PairResult(pair.good, pair.bad, pair.phenomenon, good, bad, *pair_outcome(good, bad)))
    return PairSuiteResult(suite.name, suite.version(method), pair_metrics(items, method), items)
