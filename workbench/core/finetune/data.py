"""Readers for labelled fine-tuning data: classification tables, CoNLL tagging files and SQuAD JSON.

Classification: `.csv` (standard quoting), `.tsv` (tab separated, quotes are plain characters as in GLUE) with a
header row, or `.jsonl` (one object a line); one text column or a text / text-pair column pair, and a label
column whose values may be strings or integers. With no text column named, "text" is used if present, else the
one column that is neither the label nor the pair column. CoNLL: one token a line, whitespace-separated
columns (token first, tag last unless chosen), a blank line between sentences, `-DOCSTART-` lines skipped.
SQuAD: the v1.1 / v2.0 JSON layout (`data[].paragraphs[].qas[]`, `is_impossible` allowed). Files are UTF-8
(a BOM is fine) with any line endings. Every error is a `DataError` whose text is one line naming the file
and line (or JSON path). Label lists are stable: integers in numeric order, else strings sorted, "O" first
for tags, so the same data always gives the same label ids.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Iterator, Sequence, TypeVar

T = TypeVar("T")
CLASSIFICATION_SUFFIXES = (".csv", ".tsv", ".jsonl")


class DataError(ValueError):
    """A problem in a data file; the text is one line naming the file and where in it."""


@dataclass(frozen=True)
class ClassificationExample:
    text: str
    label: str
    text_pair: str | None = None


@dataclass(frozen=True)
class TaggedSentence:
    tokens: list[str]
    tags: list[str]


@dataclass(frozen=True)
class QAExample:
    id: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)  # gold texts; [] when unanswerable
    answer_starts: list[int] = field(default_factory=list)  # character offsets into context
    is_impossible: bool = False
    article: str = ""  # the article's title, else its place in the file ("data[3]"): what splits keep together


# ---- classification ---------------------------------------------------------------------------------------


def _rows(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, row dict) of a table file, the header being line 1."""
    suffix = path.suffix.lower()
    if suffix not in CLASSIFICATION_SUFFIXES:
        raise DataError(f"{path}: unsupported format {suffix or '(none)'}; use .csv, .tsv or .jsonl")
    with open(path, encoding="utf-8-sig", newline="") as f:
        if suffix == ".jsonl":
            for n, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataError(f"{path}:{n}: invalid JSON ({error.msg})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
                yield n, row
            return
        quoting = dict(delimiter="\t", quoting=csv.QUOTE_NONE) if suffix == ".tsv" else {}
        reader = csv.DictReader(f, **quoting)
        if not reader.fieldnames:
            raise DataError(f"{path}:1: empty file, a header row is needed")
        for row in reader:
            if None in row or None in row.values():  # DictReader's markers of extra / missing fields
                got = sum(v is not None for k, v in row.items() if k is not None) + len(row.get(None) or [])
                raise DataError(f"{path}:{reader.line_num}: expected {len(reader.fieldnames)} columns "
                                f"({', '.join(reader.fieldnames)}), got {got}")
            yield reader.line_num, row


def _choose_text_column(path: Path, columns: Sequence[str], label_column: str, pair_column: str | None) -> str:
    if "text" in columns:
        return "text"
    others = [c for c in columns if c not in (label_column, pair_column)]
    if len(others) == 1:
        return others[0]
    raise DataError(f"{path}: cannot tell the text column among {', '.join(columns)}; name it with --text-column")


def read_classification(path: str | Path, text_column: str | None = None, label_column: str = "label",
                        text_pair_column: str | None = None, limit: int | None = None) -> list[ClassificationExample]:
    """The examples of a classification file (at most `limit`); labels as strings ("1" for the integer 1)."""
    path = Path(path)
    examples: list[ClassificationExample] = []
    for n, row in _rows(path):
        if text_column is None:
            text_column = _choose_text_column(path, list(row), label_column, text_pair_column)
        wanted = [c for c in (text_column, text_pair_column, label_column) if c is not None]
        missing = [c for c in wanted if c not in row]
        if missing:
            raise DataError(f"{path}:{n}: no column {missing[0]!r}; columns are {', '.join(map(str, row))}")
        label = row[label_column]
        if label is None or str(label).strip() == "":
            raise DataError(f"{path}:{n}: empty label in column {label_column!r}")
        pair = None if text_pair_column is None else str(row[text_pair_column])
        examples.append(ClassificationExample(str(row[text_column]), str(label).strip(), pair))
        if limit is not None and len(examples) >= limit:
            break
    if not examples:
        raise DataError(f"{path}: no examples")
    return examples


def preview_table(path: str | Path, limit: int = 8) -> tuple[list[str], list[list[str]]]:
    """(column names, the first `limit` rows as strings) of a classification file, to choose columns from."""
    columns: list[str] = []
    rows: list[list[str]] = []
    for _, row in _rows(Path(path)):
        columns = columns or [str(c) for c in row]
        rows.append([str(row.get(c, "")) for c in columns])
        if len(rows) >= limit:
            break
    if not rows:
        raise DataError(f"{path}: no rows")
    return columns, rows


def label_list(labels: Sequence[str], first: str | None = None) -> list[str]:
    """The distinct labels in a stable order: integers numerically, else sorted strings; `first` leads."""
    distinct = set(labels)
    try:
        ordered = sorted(distinct, key=int)
    except ValueError:
        ordered = sorted(distinct)
    if first is not None and first in distinct:
        ordered = [first] + [x for x in ordered if x != first]
    return ordered


def check_labels(path: str | Path, labels: Sequence[str], known: Sequence[str]) -> None:
    """Refuse a validation file with labels the training file never had (the head has no output for them)."""
    unknown = sorted(set(labels) - set(known))
    if unknown:
        raise DataError(f"{path}: labels {unknown[:5]} do not occur in the training data ({', '.join(known[:10])})")


# ---- tagging ----------------------------------------------------------------------------------------------


def read_conll(path: str | Path, token_column: int = 0, tag_column: int = -1,
               limit: int | None = None) -> list[TaggedSentence]:
    """Sentences of a CoNLL file (at most `limit`); columns are split on any whitespace."""
    path = Path(path)
    sentences: list[TaggedSentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, start=1):
            columns = line.split()
            if columns and columns[0] == "-DOCSTART-":
                continue
            if not columns:
                if tokens:
                    sentences.append(TaggedSentence(tokens, tags))
                    tokens, tags = [], []
                    if limit is not None and len(sentences) >= limit:
                        return sentences
                continue
            try:
                token, tag = columns[token_column], columns[tag_column]
            except IndexError:
                raise DataError(f"{path}:{n}: expected a token and a tag column, got {line.strip()!r}") from None
            if len(columns) < 2:
                raise DataError(f"{path}:{n}: expected a token and a tag, got only {token!r}")
            if tag != "O" and not (tag[:2] in ("B-", "I-") and len(tag) > 2):
                raise DataError(f"{path}:{n}: tag {tag!r} is not IOB2 (O, B-TYPE or I-TYPE)")
            tokens.append(token)
            tags.append(tag)
    if tokens:
        sentences.append(TaggedSentence(tokens, tags))
    if not sentences:
        raise DataError(f"{path}: no sentences")
    return sentences


# ---- question answering -----------------------------------------------------------------------------------


def read_squad(path: str | Path, limit: int | None = None) -> list[QAExample]:
    """The questions of a SQuAD v1.1 / v2.0 file (at most `limit`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise DataError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise DataError(f"{path}: not SQuAD JSON (expected an object with a 'data' list)")
    examples = []
    for a, article in enumerate(data["data"]):
        title = str(article.get("title") or f"data[{a}]") if isinstance(article, dict) else f"data[{a}]"
        for p, paragraph in enumerate(_field(path, article, "paragraphs", f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = _field(path, paragraph, "context", where)
            for q, qa in enumerate(_field(path, paragraph, "qas", where)):
                examples.append(_qa_example(path, qa, context, f"{where}.qas[{q}]", title))
                if limit is not None and len(examples) >= limit:
                    return examples
    if not examples:
        raise DataError(f"{path}: no questions")
    return examples


def _field(path: Path, obj: object, key: str, where: str):
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"{path}: {where} has no {key!r}")
    return obj[key]


def _qa_example(path: Path, qa: dict, context: str, where: str, article: str) -> QAExample:
    impossible = bool(qa.get("is_impossible", False))
    answers = [] if impossible else _field(path, qa, "answers", where)
    texts, starts = [], []
    for i, answer in enumerate(answers):
        text, start = _field(path, answer, "text", f"{where}.answers[{i}]"), answer.get("answer_start")
        if not isinstance(start, int) or not 0 <= start <= len(context) - len(text):
            raise DataError(f"{path}: {where}.answers[{i}] has answer_start {start!r} outside its context")
        texts.append(text)
        starts.append(start)
    if not impossible and not texts:
        raise DataError(f"{path}: {where} has no answers and is not marked is_impossible")
    return QAExample(str(_field(path, qa, "id", where)), _field(path, qa, "question", where), context, texts, starts,
                     impossible, article)


# ---- splits -----------------------------------------------------------------------------------------------


def split_train_validation(items: Sequence[T], fraction: float = 0.1, seed: int = 0,
                           group: Callable[[T], Hashable] | None = None) -> tuple[list[T], list[T]]:
    """A deterministic shuffle-split: the same items, fraction and seed always give the same two lists. With
    `group`, items of one group (one QA article, one duplicated text) fall on one side together, so validation
    never scores what training read: whole groups, in shuffled order, go to validation until it holds at least
    `fraction` of the items (and never all of them)."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be between 0 and 1, got {fraction}")
    members: dict[Hashable, list[int]] = {}
    for i, item in enumerate(items):
        members.setdefault(group(item) if group else i, []).append(i)
    groups = list(members.values())
    random.Random(seed).shuffle(groups)
    wanted = max(1, round(len(items) * fraction)) if len(groups) > 1 else 0
    held: set[int] = set()
    for indices in groups[:-1]:  # the last group always stays in training
        if len(held) >= wanted:
            break
        held.update(indices)
    return [x for i, x in enumerate(items) if i not in held], [x for i, x in enumerate(items) if i in held]


def split_group(example: ClassificationExample | TaggedSentence | QAExample) -> Hashable:
    """What must not straddle a split: a QA question's article, a text (and pair) or a sentence, read with case
    and spacing folded, so that a duplicate is the same text."""
    if isinstance(example, QAExample):
        return example.article
    if isinstance(example, TaggedSentence):
        return tuple(t.casefold() for t in example.tokens)
    return " ".join(example.text.casefold().split()), " ".join((example.text_pair or "").casefold().split())


def split_key(examples: Sequence) -> Callable[[object], Hashable]:
    """`split_group`, except in a QA file of one article, which cannot be split by article: there by context."""
    if examples and isinstance(examples[0], QAExample) and len({e.article for e in examples}) < 2:
        return lambda example: example.context
    return split_group
