"""Minimal-pair suites: batched PLLs equal one sentence at a time, accuracy is recounted from the PLLs by hand,
a tie (a constant model, or two sentences with the same pieces) is a failure, TSV and BLiMP JSONL both load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import ProbeInputError, pseudo_log_likelihood
from workbench.core.probing.encoding import encode_text
from workbench.core.probing.minimal_pairs import TIE_TOLERANCE, evaluate_pairs, load_pairs, pair_outcome
from workbench.core.probing.scoring import batched_plls
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import generate_documents
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

PAIRS = [("the dog runs.", "the dog run.", "agreement"), ("the dogs near the cat run.", "the dogs near the cat runs.",
         "agreement"), ("one cat, three cats.", "one cat, three cat.", "plural"),
         ("the unbelievably tired farmers sleep.", "tired the unbelievably farmers sleep.", "order")]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))


@pytest.fixture(scope="module")
def model(tokenizer):
    torch.manual_seed(5)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=29, max_position_embeddings=48)
    return BertForMaskedLM(config).eval()


def write_tsv(path: Path, rows, header="good\tbad\tphenomenon") -> Path:
    path.write_text("\n".join([header, *("\t".join(r) for r in rows)]) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("method", ["original", "word-l2r"])
def test_batched_plls_equal_one_sentence_at_a_time(model, tokenizer, method: str) -> None:
    sentences = [s for pair in PAIRS for s in pair[:2]]
    ids = [encode_text(tokenizer, s) for s in sentences]
    batched = batched_plls(model, tokenizer, ids, method, max_rows=13)  # odd size: several uneven batches
    assert batched == pytest.approx([pseudo_log_likelihood(model, tokenizer, s, method).pll for s in sentences],
                                    abs=1e-4)


def test_accuracy_is_recounted_from_the_plls(model, tokenizer, tmp_path: Path) -> None:
    result = evaluate_pairs(model, tokenizer, load_pairs(write_tsv(tmp_path / "s.tsv", PAIRS)))
    expected = []
    for good, bad, group in PAIRS:
        g, b = (pseudo_log_likelihood(model, tokenizer, s).pll for s in (good, bad))
        expected.append((g - b > TIE_TOLERANCE, group, g - b))
    assert [(r.correct, r.phenomenon) for r in result.items] == [(c, g) for c, g, _ in expected]
    metrics = result.metrics
    assert metrics["n_items"] == 4 and metrics["kind"] == "minimal-pairs"
    assert metrics["overall"]["accuracy"] == sum(c for c, _, _ in expected) / 4
    assert metrics["overall"]["mean_margin"] == pytest.approx(sum(m for _, _, m in expected) / 4, abs=1e-4)
    agreement = [c for c, g, _ in expected if g == "agreement"]
    group = metrics["groups"]["agreement"]
    assert (group["n"], group["accuracy"], group["ties"]) == (2, sum(agreement) / 2, 0)
    assert sorted(metrics["groups"]) == ["agreement", "order", "plural"]


def test_a_constant_model_gets_no_credit(tokenizer, tmp_path: Path) -> None:
    """All logits zero: every token has log-probability -log V, so a pair of the same pieces reordered ties
    (and so would any pair of equal length), and ties fail."""
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=24, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=29, max_position_embeddings=48)
    constant = BertForMaskedLM(config).eval()
    with torch.no_grad():
        for parameter in constant.cls.parameters():
            parameter.zero_()
    rows = [("the dog runs.", "dog the runs.", "order"), ("the cats sleep.", "the sleep cats.", "order")]
    result = evaluate_pairs(constant, tokenizer, load_pairs(write_tsv(tmp_path / "t.tsv", rows)))
    assert [r.tie for r in result.items] == [True, True]
    assert result.metrics["overall"]["accuracy"] == 0.0
    assert result.metrics["overall"]["ties"] == 2


def test_identical_pieces_tie_exactly(model, tokenizer, tmp_path: Path) -> None:
    rows = [("the dog runs.", "the  dog   runs.", "same")]  # whitespace only: the same pieces
    item = evaluate_pairs(model, tokenizer, load_pairs(write_tsv(tmp_path / "u.tsv", rows))).items[0]
    assert item.pll_good == item.pll_bad and item.tie and not item.correct
    assert pair_outcome(-10.0, -10.0 - TIE_TOLERANCE / 2) == (False, True)
    assert pair_outcome(-10.0, -10.1) == (True, False)


def test_blimp_jsonl_and_its_column_names(tmp_path: Path) -> None:
    path = tmp_path / "blimp.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (
        {"sentence_good": "the dog runs.", "sentence_bad": "the dog run.", "field": "morphology",
         "UID": "regular_plural_subject_verb_agreement_1", "pairID": "0"},
        {"sentence_good": "a cat sleeps.", "sentence_bad": "a cat sleep.", "field": "morphology"},
    )) + "\n", encoding="utf-8")
    suite = load_pairs(path)
    assert [(p.good, p.bad, p.phenomenon) for p in suite.pairs] == [
        ("the dog runs.", "the dog run.", "regular_plural_subject_verb_agreement_1"),
        ("a cat sleeps.", "a cat sleep.", "morphology")]
    tsv = load_pairs(write_tsv(tmp_path / "b.tsv", [("a b.", "b a.", "x")], header="sentence_good\tsentence_bad\tUID"))
    assert tsv.pairs[0].phenomenon == "x"
    assert suite.version("original") != suite.version("word-l2r")


@pytest.mark.parametrize("text, message", [
    ("good\tbad\n", "holds no sentence pairs"),
    ("sentence\tanswer\nx\ty\n", "header naming the columns good, bad"),
    ("good\tbad\nonly one\n", ":2: expected 2 tab-separated columns"),
    ("good\tbad\n \tx\n", "both sentences"),
])
def test_bad_files_are_refused_with_their_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProbeInputError, match=message):
        load_pairs(path)
