"""QA as Hugging Face users read it (issue 20): `doc_stride` is the windows' overlap, no gold answer is lost to
the windowing at any setting (an oracle decodes every one), the no-answer threshold is learned on validation,
and automatic splits keep an article, or a duplicated text, on one side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.finetune.data import (
    ClassificationExample,
    QAExample,
    TaggedSentence,
    read_squad,
    split_group,
    split_key,
    split_train_validation,
)
from workbench.core.finetune.qa import Candidate, answers_outside_windows, learn_null_threshold, prepare_qa_features
from workbench.core.finetune.tasks import QATask
from workbench.core.tokenization import train_tokenizer
from workbench.settings.tokenizer import TokenizerConfig

WORDS = [f"w{i}" for i in range(60)]
CONTEXT = " ".join(WORDS)


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer([CONTEXT, "where is it", "what comes next"] * 10,
                           TokenizerConfig(type="wordpiece", vocab_size=200, min_frequency=1))


def spans(length: int) -> list[QAExample]:
    """An example for every answer of `length` words at every place in the context (one token per word)."""
    examples = []
    for first in range(len(WORDS) - length + 1):
        text = " ".join(WORDS[first: first + length])
        start = len(" ".join(WORDS[:first])) + (1 if first else 0)
        assert CONTEXT[start: start + len(text)] == text
        examples.append(QAExample(f"{first}-{length}", "where is it", CONTEXT, [text], [start]))
    return examples


def oracle_logits(features: list[dict]) -> list[torch.Tensor]:
    """(T, 2) logits that point at each window's label: what a perfect model would give."""
    out = []
    for f in features:
        x = torch.zeros(len(f["input_ids"]), 2)
        x[f["start_positions"], 0] = x[f["end_positions"], 1] = 10.0
        out.append(x)
    return out


def test_doc_stride_is_the_overlap_between_windows(tokenizer) -> None:
    example = spans(1)[0]
    features = prepare_qa_features(tokenizer, [example], max_len=24, doc_stride=8)
    room = 24 - len(tokenizer.encode(example.question)) - 3
    firsts = [next(i for i, o in enumerate(f["offsets"]) if o is not None) for f in features]
    starts = [WORDS.index(example.context[f["offsets"][i][0]: f["offsets"][i][1]]) for f, i in zip(features, firsts)]
    assert [b - a for a, b in zip(starts, starts[1:])] == [room - 8] * (len(starts) - 1)  # windows share 8 tokens
    assert starts[-1] + room >= len(WORDS)


@pytest.mark.parametrize("max_len", [16, 24, 40])
@pytest.mark.parametrize("doc_stride", [0, 1, 5, 64])
def test_an_oracle_finds_every_gold_answer_at_any_setting(tokenizer, max_len: int, doc_stride: int) -> None:
    room = max_len - len(tokenizer.encode("where is it")) - 3
    max_answer_len = 6
    task = QATask([], max_len, doc_stride, max_answer_len=max_answer_len)
    for length in range(1, min(max_answer_len, room) + 1):
        examples = spans(length)
        features = task.encode(tokenizer, examples)
        assert answers_outside_windows(examples, features) == 0
        assert task.answers(examples, features, oracle_logits(features)) == [e.answers[0] for e in examples]


def test_answers_longer_than_the_longest_answer_are_counted_when_lost(tokenizer) -> None:
    examples = spans(12)  # 12 tokens, longer than max_answer_len 3, in windows that advance by more
    features = QATask([], 24, 0, max_answer_len=3).encode(tokenizer, examples)
    lost = answers_outside_windows(examples, features)
    assert 0 < lost < len(examples)
    labelled = {f["example_index"] for f in features if f["start_positions"]}
    assert lost == len(examples) - len(labelled)


def test_learned_threshold_maximises_f1_like_the_official_search() -> None:
    gold = [["paris"], [], ["the mat"], []]
    # margins (null - span): the right span of example 0 is sure, the wrong span of example 1 less so
    candidates = [Candidate("paris", 5.0, 1.0), Candidate("barks", 2.0, 3.0), Candidate("a mat", 1.0, 1.5),
                  Candidate("the", 0.0, 4.0)]
    threshold = learn_null_threshold(candidates, gold)
    # answering 0 (margin -4) gains 1; then 2 (+0.5, F1 of "a mat" vs "the mat" is 0.5); 1 and 3 lose 1 each
    assert threshold == 0.5
    answers = [c.answer(True, threshold) for c in candidates]
    assert answers == ["paris", "", "a mat", ""]
    assert learn_null_threshold([Candidate("x", 0.0, 9.0)], [[]]) == pytest.approx(8.0)  # below it: all ""
    assert learn_null_threshold([Candidate("", float("-inf"), 1.0)], [["x"]]) == 0.0  # no span anywhere


def test_qa_score_learns_on_validation_and_applies_it_to_the_test_set(tokenizer) -> None:
    examples = [*spans(1)[:3], QAExample("none", "where is it", CONTEXT, [], [], is_impossible=True)]
    task = QATask([], 24, 8, allow_no_answer=True)
    features = task.encode(tokenizer, examples)
    logits = oracle_logits(features)
    metrics, _ = task.score(examples, features, logits)
    assert metrics["f1"] == 1.0 and "null_threshold" in metrics
    fitted = {"null_threshold": 1e9}  # so high that nothing is ever "no answer"
    test_metrics, _ = task.score(examples, features, logits, fitted=fitted)
    assert test_metrics["null_threshold"] == 1e9 and test_metrics["NoAns_f1"] == 0.0
    closed = QATask([], 24, 8, allow_no_answer=False)
    assert "null_threshold" not in closed.score(examples, features, logits)[0]


def write_squad(path: Path, articles: dict[str, int]) -> Path:
    data = [{"title": title, "paragraphs": [{"context": f"{title} is a place", "qas": [
        {"id": f"{title}-{q}", "question": f"what is {title} {q}", "answers": [{"text": title, "answer_start": 0}]}
        for q in range(n)]}]} for title, n in articles.items()]
    path.write_text(json.dumps({"version": "v2.0", "data": data}), encoding="utf-8")
    return path


def test_the_automatic_qa_split_keeps_each_article_on_one_side(tmp_path: Path) -> None:
    examples = read_squad(write_squad(tmp_path / "s.json", {f"a{i}": 3 + i % 4 for i in range(20)}))
    assert examples[0].article == "a0"
    for seed in range(5):
        train, validation = split_train_validation(examples, 0.1, seed, split_group)
        assert {e.article for e in train}.isdisjoint({e.article for e in validation})
        assert len(validation) >= round(len(examples) * 0.1) and len(train) + len(validation) == len(examples)
    one_article = [QAExample(str(i), "q", f"context {i % 5}", article="only") for i in range(20)]
    train, validation = split_train_validation(one_article, 0.1, 0, split_key(one_article))
    assert validation and {e.context for e in train}.isdisjoint({e.context for e in validation})


def test_duplicate_texts_and_sentences_fall_on_one_side() -> None:
    rows = [ClassificationExample(f"Text {i % 7}  here", str(i % 2)) for i in range(70)]
    rows += [ClassificationExample(f"text {i % 7} HERE", "0") for i in range(7)]  # the same texts, case and spacing
    train, validation = split_train_validation(rows, 0.2, 1, split_group)
    assert {split_group(x) for x in train}.isdisjoint({split_group(x) for x in validation}) and validation
    sentences = [TaggedSentence(["Paris", str(i % 5)], ["B-LOC", "O"]) for i in range(30)]
    train, validation = split_train_validation(sentences, 0.2, 0, split_group)
    assert {tuple(s.tokens) for s in train}.isdisjoint({tuple(s.tokens) for s in validation})


def test_singleton_groups_split_as_before() -> None:
    items = list(range(50))
    assert split_train_validation(items, 0.2, 3) == split_train_validation(items, 0.2, 3, group=lambda x: x)
