"""Evaluation metrics with exact, documented definitions, matching the reference tools users compare against.

Classification: accuracy, per-class precision / recall / F1 (0 when a denominator is 0, as scikit-learn's
`zero_division=0`), their unweighted (macro) means over every class of the label list (classes absent from both
gold and predictions included, as scikit-learn with `labels=`), and the confusion matrix (rows gold, columns
predicted). Tagging: entity-level precision / recall / F1 as seqeval's default (conlleval) mode: an entity is a
maximal run of B-X / I-X tags of one type X; B-X starts a new entity, and so does an I-X that does not continue
an entity of type X (after O, after an entity of another type), so "O I-PER I-PER" holds one PER entity and
"B-PER I-LOC" two. Entities never cross sentences. An entity counts as correct only when type, start and end
all match. Overall scores are micro (pooled counts), per-type scores use each type's counts; token accuracy is
the share of tokens whose tag is right. QA: exact match and token F1 as the official SQuAD v1.1 / v2.0
evaluation script (normalisation: lowercase, drop punctuation, drop the articles a/an/the, collapse whitespace;
the maximum over gold answers; an unanswerable question's gold is "" and only the prediction "" scores 1),
with v2.0's HasAns / NoAns breakdown. Scores are fractions in [0, 1] (the official script prints them x100).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Sequence


def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return _ratio(2 * precision * recall, precision + recall)


# ---- classification ---------------------------------------------------------------------------------------


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> dict:
    """accuracy, macro_precision / macro_recall / macro_f1, per_class {label: {precision, recall, f1, support}}
    and confusion[gold][pred] for label indices into `labels`."""
    if len(y_true) != len(y_pred):
        raise ValueError(f"{len(y_true)} gold labels but {len(y_pred)} predictions")
    k = len(labels)
    confusion = [[0] * k for _ in range(k)]
    for gold, pred in zip(y_true, y_pred):
        confusion[gold][pred] += 1
    per_class = {}
    for i, label in enumerate(labels):
        tp = confusion[i][i]
        predicted = sum(confusion[g][i] for g in range(k))
        support = sum(confusion[i])
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        per_class[label] = {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
                            "support": support}
    correct = sum(confusion[i][i] for i in range(k))
    return {
        "accuracy": _ratio(correct, len(y_true)),
        "macro_precision": _ratio(sum(c["precision"] for c in per_class.values()), k),
        "macro_recall": _ratio(sum(c["recall"] for c in per_class.values()), k),
        "macro_f1": _ratio(sum(c["f1"] for c in per_class.values()), k),
        "per_class": per_class,
        "confusion": confusion,
    }


# ---- tagging ----------------------------------------------------------------------------------------------


def _split_tag(tag: str) -> tuple[str, str]:
    """("B", "PER") for "B-PER"; ("O", "") for "O"; a bare "B" or "I" has the empty type."""
    if tag == "O" or not tag:
        return "O", ""
    prefix, _, entity_type = tag.partition("-")
    return prefix, entity_type


def get_entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of one sentence as (type, first, last) token indices, in conlleval / seqeval-default semantics."""
    entities = []
    start, current = None, ""
    for i, tag in enumerate([*tags, "O"]):  # the sentinel closes an entity running to the end
        prefix, entity_type = _split_tag(tag)
        continues = prefix == "I" and start is not None and entity_type == current
        if start is not None and not continues:
            entities.append((current, start, i - 1))
            start = None
        if prefix in ("B", "I") and not continues:
            start, current = i, entity_type
    return entities


def tagging_metrics(gold: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict:
    """precision / recall / f1 (micro over entities), per_type {type: {precision, recall, f1, support}},
    token_accuracy, for sentences of IOB2 tag strings."""
    if len(gold) != len(pred) or any(len(g) != len(p) for g, p in zip(gold, pred)):
        raise ValueError("gold and predicted tag sequences must have the same lengths")
    gold_entities = {(s, *e) for s, tags in enumerate(gold) for e in get_entities(tags)}
    pred_entities = {(s, *e) for s, tags in enumerate(pred) for e in get_entities(tags)}
    correct = gold_entities & pred_entities
    types = sorted({e[1] for e in gold_entities | pred_entities})
    per_type = {}
    for t in types:
        tp = sum(1 for e in correct if e[1] == t)
        n_pred = sum(1 for e in pred_entities if e[1] == t)
        n_gold = sum(1 for e in gold_entities if e[1] == t)
        precision, recall = _ratio(tp, n_pred), _ratio(tp, n_gold)
        per_type[t] = {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "support": n_gold}
    precision, recall = _ratio(len(correct), len(pred_entities)), _ratio(len(correct), len(gold_entities))
    n_tokens = sum(len(g) for g in gold)
    right = sum(a == b for g, p in zip(gold, pred) for a, b in zip(g, p))
    return {"precision": precision, "recall": recall, "f1": _f1(precision, recall), "per_type": per_type,
            "token_accuracy": _ratio(right, n_tokens)}


# ---- question answering -----------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(gold: str, prediction: str) -> float:
    return float(normalize_answer(gold) == normalize_answer(prediction))


def token_f1(gold: str, prediction: str) -> float:
    gold_tokens, pred_tokens = normalize_answer(gold).split(), normalize_answer(prediction).split()
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)  # no-answer on either side: 1 only if both are
    same = sum((Counter(gold_tokens) & Counter(pred_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def gold_texts(answers: Sequence[str]) -> list[str]:
    """The gold answers the official v2.0 script scores against: non-empty after normalisation, else [""]."""
    kept = [a for a in answers if normalize_answer(a)]
    return kept or [""]


def squad_metrics(gold_answers: dict[str, Sequence[str]], predictions: dict[str, str]) -> dict:
    """exact and f1 over all questions (a missing prediction counts as ""), plus HasAns_* and NoAns_*
    (exact, f1, total) when the questions include that kind. `gold_answers` maps an id to its answer texts
    ([] for an unanswerable question)."""
    scores = {}
    for qid, answers in gold_answers.items():
        golds, pred = gold_texts(answers), predictions.get(qid, "")
        has_answer = golds != [""]
        scores[qid] = (max(exact_match(g, pred) for g in golds), max(token_f1(g, pred) for g in golds), has_answer)
    result = _mean_scores(list(scores.values()), "")
    for prefix, wanted in (("HasAns_", True), ("NoAns_", False)):
        subset = [s for s in scores.values() if s[2] == wanted]
        if subset:
            result.update(_mean_scores(subset, prefix))
    return result


def _mean_scores(scores: list[tuple[float, float, bool]], prefix: str) -> dict:
    n = len(scores)
    return {f"{prefix}exact": _ratio(sum(s[0] for s in scores), n), f"{prefix}f1": _ratio(sum(s[1] for s in scores), n),
            f"{prefix}total": n}
