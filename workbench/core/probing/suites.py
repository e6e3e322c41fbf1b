"""Probe suites (LAMA-style cloze tests): sentences with one mask standing for one whole word, and right answers.

A suite is a TSV file with a header row `sentence<TAB>answers<TAB>group` (answers joined by `|`, group optional)
like resources/sample_cloze.tsv, or a JSONL file (`.jsonl`) with objects {"sentence", "answers": [...], "group"}.
Each item is scored by the rank, over the whole vocabulary less the special tokens, of its best-ranked right
answer at the mask (Petroni et al. 2019): precision@1 (rank 1), precision@k (rank <= k) and mean reciprocal
rank, overall and per group. A model predicts one token per mask, so an answer of several pieces is ranked
by its first piece (the result's notes list those answers); with WordPiece that is the word's first piece,
so "farmers" split as "farm ##ers" counts as right when "farm" is ranked first.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch

from workbench.core.modeling_bert import BertForMaskedLM, HeadMask
from workbench.core.probing.encoding import (
    MASK_MARKER,
    ProbeInputError,
    encode_text,
    inference,
    mask_positions,
    model_device,
    pad_batch,
    tokens_of,
)
from workbench.core.tokenization import ROBERTA_SPECIALS, WorkbenchTokenizer

MASK_SPELLINGS = (MASK_MARKER, ROBERTA_SPECIALS["mask"])
DEFAULT_GROUP = "all"
DEFAULT_TOP_K = 10


@dataclass(frozen=True)
class ProbeItem:
    sentence: str
    answers: tuple[str, ...]
    group: str


@dataclass(frozen=True)
class ProbeSuite:
    name: str  # the file's stem
    sha256: str  # of the file's bytes: results of different suite versions are never mixed
    items: list[ProbeItem]


@dataclass(frozen=True)
class ItemResult:
    sentence: str
    answers: tuple[str, ...]
    group: str
    rank: int  # 1-based rank of the best-ranked answer
    predictions: list[str]  # the model's top-k tokens at the mask


@dataclass(frozen=True)
class SuiteResult:
    suite_name: str
    suite_sha256: str
    metrics: dict[str, Any]  # {"k", "n_items", "overall": {...}, "groups": {name: {...}}}, see suite_metrics
    items: list[ItemResult]
    notes: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def read_suite_file(
    path: str | Path, parse_tsv: Callable[[str, Path], list], parse_jsonl: Callable[[str, Path], list], what: str,
    items_name: str,
) -> tuple[Path, list, str]:
    """(path, its items, the sha256 of its bytes) of a TSV or JSONL (`.jsonl`, `.json`) file; `what` names the
    file and `items_name` its items in the messages."""
    path = Path(path)
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ProbeInputError(f"cannot read the {what} {path}: {error}") from error
    items = parse_jsonl(text, path) if path.suffix.lower() in (".jsonl", ".json") else parse_tsv(text, path)
    if not items:
        raise ProbeInputError(f"{path} holds no {items_name}")
    return path, items, hashlib.sha256(data).hexdigest()


def jsonl_records(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of every non-blank line; a line that is not JSON is refused with its number."""
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield line, json.loads(raw)
        except json.JSONDecodeError as error:
            raise ProbeInputError(f"{path}:{line}: not a JSON object: {error.msg}") from error


def load_suite(path: str | Path) -> ProbeSuite:
    """Read and check a TSV or JSONL suite; errors name the file and line."""
    path, items, sha256 = read_suite_file(path, _parse_tsv, _parse_jsonl, "probe suite", "probe items")
    return ProbeSuite(path.stem, sha256, items)


def _parse_tsv(text: str, path: Path) -> list[ProbeItem]:
    rows = csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    header = [h.strip().lower() for h in next(rows, [])]
    if "sentence" not in header or "answers" not in header:
        raise ProbeInputError(f"{path}: the first line must be a header naming the columns sentence, answers "
                              f"and (optionally) group, separated by tabs; got {header}")
    column = {name: header.index(name) for name in ("sentence", "answers", "group") if name in header}
    items = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(column.values()):
            raise ProbeInputError(f"{path}:{line}: expected {len(header)} tab-separated columns; got {len(row)}")
        group = row[column["group"]] if "group" in column else DEFAULT_GROUP
        items.append(_item(row[column["sentence"]], row[column["answers"]].split("|"), group, f"{path}:{line}"))
    return items


def _parse_jsonl(text: str, path: Path) -> list[ProbeItem]:
    items = []
    for line, record in jsonl_records(text, path):
        answers = record.get("answers") if isinstance(record, dict) else None
        if isinstance(answers, str):
            answers = answers.split("|")
        if not isinstance(answers, list) or not isinstance(record.get("sentence"), str):
            raise ProbeInputError(f"{path}:{line}: expected {{\"sentence\": str, \"answers\": [str, ...], "
                                  f"\"group\": str}}")
        items.append(_item(record["sentence"], [str(a) for a in answers], str(record.get("group") or DEFAULT_GROUP),
                           f"{path}:{line}"))
    return items


def _item(sentence: str, answers: Sequence[str], group: str, where: str) -> ProbeItem:
    masks = sum(sentence.count(spelling) for spelling in MASK_SPELLINGS)
    if masks != 1:
        raise ProbeInputError(f"{where}: a probe sentence needs exactly one {MASK_MARKER}; this one has {masks}")
    cleaned = tuple(a.strip() for a in answers if a.strip())
    if not cleaned:
        raise ProbeInputError(f"{where}: no answer given")
    return ProbeItem(sentence.strip(), cleaned, group.strip() or DEFAULT_GROUP)


def answer_ranks(logits: torch.Tensor, answer_ids: Sequence[Sequence[int]],
                 excluded_ids: Sequence[int] = ()) -> list[int]:
    """1-based rank of each row's best-scoring answer among the tokens not excluded; logits: (N, V).
    Ties count in the answer's favour: the rank is 1 + the number of tokens scored strictly higher."""
    scores = logits.float().clone()
    scores[:, list(excluded_ids)] = -math.inf
    ranks = []
    for row, ids in enumerate(answer_ids):
        best = scores[row, list(ids)].max()
        ranks.append(int((scores[row] > best).sum()) + 1)
    return ranks


def _group_metrics(ranks: Sequence[int], k: int) -> dict[str, float]:
    n = len(ranks)
    return {
        "n": n,
        "precision_at_1": sum(r == 1 for r in ranks) / n,
        "precision_at_k": sum(r <= k for r in ranks) / n,
        "mrr": sum(1.0 / r for r in ranks) / n,
    }


def suite_metrics(ranks: Sequence[int], groups: Sequence[str], k: int) -> dict[str, Any]:
    """precision@1, precision@k and MRR (and n) overall and per group (sorted by name)."""
    by_group: dict[str, list[int]] = {}
    for rank, group in zip(ranks, groups):
        by_group.setdefault(group, []).append(rank)
    return {
        "k": k,
        "n_items": len(ranks),
        "overall": _group_metrics(ranks, k),
        "groups": {g: _group_metrics(r, k) for g, r in sorted(by_group.items())},
    }


def _answer_ids(tokenizer: WorkbenchTokenizer, suite: ProbeSuite) -> tuple[list[list[int]], list[str]]:
    ids, notes = [], []
    for item in suite.items:
        first_pieces = []
        for answer in item.answers:
            pieces = tokenizer.encode(answer)
            note = (f"answer {answer!r} is {len(pieces)} pieces ({' '.join(tokens_of(tokenizer, pieces))}); "
                    "ranked by its first piece")
            if len(pieces) > 1 and note not in notes:
                notes.append(note)
            first_pieces.append(pieces[0] if pieces else tokenizer.unk_id)
        ids.append(first_pieces)
    return ids, notes


def _encode_items(model: BertForMaskedLM, tokenizer: WorkbenchTokenizer, suite: ProbeSuite) -> list[list[int]]:
    encoded = []
    for number, item in enumerate(suite.items, start=1):
        ids = encode_text(tokenizer, item.sentence, model.config.max_length)
        if len(mask_positions(ids, tokenizer.mask_id)) != 1:
            raise ProbeInputError(f"{suite.name} item {number} ({item.sentence!r}) does not tokenize to one mask")
        encoded.append(ids)
    return encoded


def evaluate_suite(
    model: BertForMaskedLM,
    tokenizer: WorkbenchTokenizer,
    suite: ProbeSuite,
    top_k: int = DEFAULT_TOP_K,
    batch_size: int = 32,
    head_mask: HeadMask | None = None,
) -> SuiteResult:
    """Rank every item's answers at its mask, in padded batches; metrics overall and per group
    (with `head_mask`'s heads switched off)."""
    if top_k < 1:
        raise ProbeInputError(f"top-k must be at least 1; got {top_k}")
    encoded = _encode_items(model, tokenizer, suite)
    answer_ids, notes = _answer_ids(tokenizer, suite)
    ranks: list[int] = []
    predictions: list[list[str]] = []
    device = model_device(model)
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        input_ids, attention_mask = pad_batch(chunk, tokenizer.pad_id, device)  # (B, T)
        with inference(model):
            hidden = model.bert(input_ids, attention_mask, head_mask=head_mask).last_hidden_state  # (B, T, H)
            logits = model.logits_at(hidden, input_ids == tokenizer.mask_id).float().cpu()  # (B, V), one per row
        ranks += answer_ranks(logits, answer_ids[start:start + batch_size], tokenizer.special_ids)
        logits[:, tokenizer.special_ids] = -math.inf
        top = logits.topk(min(top_k, logits.shape[-1]), dim=-1).indices  # (B, k)
        predictions += [tokens_of(tokenizer, row) for row in top.tolist()]
    items = [ItemResult(item.sentence, item.answers, item.group, rank, preds)
             for item, rank, preds in zip(suite.items, ranks, predictions)]
    metrics = suite_metrics(ranks, [item.group for item in suite.items], top_k)
    return SuiteResult(suite.name, suite.sha256, metrics, items, notes)
