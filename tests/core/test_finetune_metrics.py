"""Fine-tuning metrics on hand-computed cases: classification, seqeval-default entity scoring, SQuAD EM/F1."""

from __future__ import annotations

import pytest

from workbench.core.finetune.metrics import (
    classification_metrics,
    exact_match,
    get_entities,
    normalize_answer,
    squad_metrics,
    tagging_metrics,
    token_f1,
)


def test_classification_metrics_by_hand() -> None:
    labels = ["neg", "pos", "neutral"]
    gold = [0, 0, 0, 1, 1, 2]
    pred = [0, 1, 0, 1, 1, 0]
    m = classification_metrics(gold, pred, labels)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    neg, pos, neutral = (m["per_class"][k] for k in labels)
    assert (neg["precision"], neg["recall"], neg["support"]) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert neg["f1"] == pytest.approx(2 / 3)
    assert (pos["precision"], pos["recall"]) == (pytest.approx(2 / 3), 1.0)
    assert pos["f1"] == pytest.approx(0.8)
    assert neutral == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}  # zero division -> 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert m["macro_precision"] == pytest.approx((2 / 3 + 2 / 3) / 3)
    assert m["macro_recall"] == pytest.approx((2 / 3 + 1) / 3)


def test_classification_macro_counts_classes_never_seen() -> None:
    m = classification_metrics([0, 0], [0, 0], ["a", "b"])
    assert m["accuracy"] == 1.0 and m["macro_f1"] == pytest.approx(0.5)


@pytest.mark.parametrize("tags, entities", [
    (["B-PER", "I-PER", "O", "B-LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
    (["O", "I-PER", "I-PER", "O"], [("PER", 1, 2)]),  # conlleval: a stray I- starts an entity
    (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 2)]),  # a type change starts a new one
    (["B-PER", "B-PER", "I-PER"], [("PER", 0, 0), ("PER", 1, 2)]),
    (["I-ORG"], [("ORG", 0, 0)]),
    (["B-creative-work", "I-creative-work"], [("creative-work", 0, 1)]),  # hyphenated types (WNUT)
    (["O", "O"], []),
])
def test_entities_follow_seqeval_default_mode(tags: list[str], entities: list) -> None:
    assert get_entities(tags) == entities


def test_tagging_metrics_by_hand() -> None:
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]
    m = tagging_metrics(gold, pred)
    # gold: PER(0,1) LOC(3) ORG; pred: PER(0,1) ORG LOC(s1) -> 2 correct of 3 predicted, 3 gold
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert m["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["token_accuracy"] == pytest.approx(4 / 6)


def test_partial_span_is_wrong_and_entities_do_not_cross_sentences() -> None:
    m = tagging_metrics([["B-PER", "I-PER"]], [["B-PER", "O"]])
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["token_accuracy"] == 0.5
    # I-PER at the start of sentence 2 does not continue sentence 1's PER
    assert tagging_metrics([["B-PER"], ["I-PER"]], [["B-PER"], ["I-PER"]])["per_type"]["PER"]["support"] == 2


def test_squad_normalisation_and_scores() -> None:
    assert normalize_answer("The  Eiffel-Tower, in PARIS!") == "eiffeltower in paris"
    assert normalize_answer("an apple a day") == "apple day"
    assert exact_match("the Norman conquest", "Norman Conquest.") == 1.0
    # gold "norman conquest of england" (4 tokens), pred "conquest of england in 1066" (5): 3 shared
    assert token_f1("Norman conquest of England", "conquest of England in 1066") == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert token_f1("France", "") == 0.0 and token_f1("", "") == 1.0 and token_f1("", "France") == 0.0
    assert token_f1("the", "a") == 1.0  # both normalise to no tokens


def test_squad_metrics_v2_split_and_max_over_golds() -> None:
    gold = {"q1": ["France", "in France"], "q2": [], "q3": ["10th century"], "q4": []}
    pred = {"q1": "in France", "q2": "", "q3": "the 10th", "q4": "Paris"}
    m = squad_metrics(gold, pred)
    q3_f1 = 2 * 1.0 * 0.5 / 1.5
    assert m["exact"] == pytest.approx(2 / 4) and m["f1"] == pytest.approx((1 + 1 + q3_f1 + 0) / 4)
    assert (m["HasAns_exact"], m["HasAns_total"]) == (pytest.approx(0.5), 2)
    assert m["HasAns_f1"] == pytest.approx((1 + q3_f1) / 2)
    assert (m["NoAns_exact"], m["NoAns_f1"], m["NoAns_total"]) == (0.5, 0.5, 2)


def test_squad_metrics_v1_has_no_noans_and_missing_prediction_is_empty() -> None:
    m = squad_metrics({"a": ["x"], "b": ["y z"]}, {"a": "x"})
    assert m == {"exact": 0.5, "f1": 0.5, "total": 2, "HasAns_exact": 0.5, "HasAns_f1": 0.5, "HasAns_total": 2}
    # a gold that normalises to nothing is dropped, as in the official v2.0 script
    assert squad_metrics({"c": ["the", "cat"]}, {"c": "cat"})["exact"] == 1.0
