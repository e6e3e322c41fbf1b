"""Fine-tuning readers on small hand-written files, their one-line errors, and the real ../shared datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.finetune.data import (
    DataError,
    check_labels,
    label_list,
    read_classification,
    read_conll,
    read_squad,
    split_train_validation,
)


def test_tsv_csv_jsonl_single_and_pair(tmp_path: Path) -> None:
    tsv = tmp_path / "a.tsv"
    tsv.write_bytes(b'sentence\tlabel\r\n"quoted" text\t1\r\nplain\t0\r\n')
    examples = read_classification(tsv)  # the one non-label column is the text
    assert [(e.text, e.label, e.text_pair) for e in examples] == [('"quoted" text', "1", None), ("plain", "0", None)]
    csv_file = tmp_path / "b.csv"
    csv_file.write_text('premise,hypothesis,gold\n"a, b",c,yes\nd,e,no\n', encoding="utf-8-sig")
    pairs = read_classification(csv_file, text_column="premise", text_pair_column="hypothesis", label_column="gold")
    assert [(e.text, e.text_pair, e.label) for e in pairs] == [("a, b", "c", "yes"), ("d", "e", "no")]
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text('{"text": "x", "label": 2}\n\n{"text": "y", "label": 10}\n', encoding="utf-8")
    rows = read_classification(jsonl)
    assert [e.label for e in rows] == ["2", "10"]
    assert label_list([e.label for e in rows]) == ["2", "10"]  # integers in numeric order


def test_label_lists_are_stable() -> None:
    assert label_list(["pos", "neg", "pos"]) == ["neg", "pos"]
    assert label_list(["I-PER", "O", "B-PER"], first="O") == ["O", "B-PER", "I-PER"]
    with pytest.raises(DataError, match="labels \\['maybe'\\]"):
        check_labels("dev.tsv", ["pos", "maybe"], ["neg", "pos"])


@pytest.mark.parametrize("name, content, message", [
    ("bad.tsv", "text\tlabel\nok\t1\nextra\t1\t2\n", r"bad.tsv:3: expected 2 columns"),
    ("bad.jsonl", '{"text": "a", "label": 1}\n{"text": \n', r"bad.jsonl:2: invalid JSON"),
    ("nolabel.csv", "text,y\na,1\n", r"nolabel.csv:2: no column 'label'"),
    ("empty.csv", "text,label\na,\n", r"empty.csv:2: empty label"),
    ("x.txt", "a", r"x.txt: unsupported format .txt"),
    ("many.csv", "a,b,label\n1,2,3\n", r"cannot tell the text column among a, b, label"),
])
def test_classification_errors_name_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        read_classification(path)
    assert "\n" not in str(info.value)


def test_conll(tmp_path: Path) -> None:
    path = tmp_path / "t.conll"
    path.write_text("-DOCSTART- O\n\nEmpire\tB-location\nState I-location\n\n\n@x\tO\n", encoding="utf-8")
    sentences = read_conll(path)
    assert [(s.tokens, s.tags) for s in sentences] == [(["Empire", "State"], ["B-location", "I-location"]),
                                                        (["@x"], ["O"])]
    path.write_text("a O\nb\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.conll:2: expected a token and a tag"):
        read_conll(path)
    path.write_text("a PER\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t.conll:1: tag 'PER' is not IOB2"):
        read_conll(path)


def test_squad_v2_and_errors(tmp_path: Path) -> None:
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "Paris is in France.", "qas": [
        {"id": "1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}], "is_impossible": False},
        {"id": "2", "question": "Who?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "Paris", "answer_start": 0}]},
    ]}]}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    first, second = read_squad(path)
    assert (first.answers, first.answer_starts, first.is_impossible) == (["France"], [12], False)
    assert (second.answers, second.is_impossible) == ([], True)
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 99
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(DataError, match=r"data\[0\].paragraphs\[0\].qas\[0\].answers\[0\] has answer_start 99"):
        read_squad(path)
    path.write_text('{"data": [\n{]', encoding="utf-8")
    with pytest.raises(DataError, match=r"s.json:2: invalid JSON"):
        read_squad(path)


def test_split_is_deterministic_and_complete() -> None:
    items = list(range(50))
    train, val = split_train_validation(items, 0.2, seed=3)
    assert (train, val) == split_train_validation(items, 0.2, seed=3)
    assert len(val) == 10 and sorted(train + val) == items
    assert split_train_validation(items, 0.2, seed=4)[1] != val


def test_shared_datasets(shared_dir: Path) -> None:
    datasets = shared_dir / "datasets"
    if not datasets.is_dir():
        pytest.skip("../shared/datasets is not present")
    train = read_classification(datasets / "sst2" / "train.tsv", limit=300)  # CRLF, header label/sentence
    dev = read_classification(datasets / "sst2" / "dev.tsv", limit=300)  # header label/content
    assert len(train) == 300 and label_list([e.label for e in train]) == ["0", "1"]
    assert not train[0].text.endswith("\r") and dev[0].text == "one long string of cliches ."
    check_labels("dev.tsv", [e.label for e in dev], ["0", "1"])
    sentences = read_conll(datasets / "wnut17" / "train.conll", limit=200)
    assert len(sentences) == 200 and sentences[0].tokens[:2] == ["@paulwalk", "It"]
    assert all(len(s.tokens) == len(s.tags) for s in sentences)
    questions = read_squad(datasets / "squad" / "dev-sample.json", limit=300)
    assert len(questions) == 300 and any(q.is_impossible for q in questions)
    for q in questions:
        for text, start in zip(q.answers, q.answer_starts):
            assert q.context[start: start + len(text)] == text
