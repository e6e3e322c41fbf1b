"""Probe suites: precision@1, precision@k and MRR on hand-made logits, suite files (TSV and JSONL) and their
errors, a real evaluation agreeing with a direct forward pass, and results kept per checkpoint in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.probing import ProbeInputError, encode_text, evaluate_suite, load_suite, suite_metrics
from workbench.core.probing.suites import answer_ranks
from workbench.core.tokenization import train_tokenizer
from workbench.samples.corpus import cloze_items, generate_documents, write_cloze_suite
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig
from workbench.store.probe_results import metric_series
from workbench.store.runstore import RunStore, StoreError


def test_metrics_on_hand_made_logits() -> None:
    logits = torch.tensor([
        [0.0, 9.0, 1.0, 2.0, 3.0, 4.0, 5.0],  # answer 1 -> rank 1
        [0.0, 1.0, 9.0, 8.0, 3.0, 4.0, 5.0],  # answers {3, 6}: best is 3 -> rank 2
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],  # answer 2 -> rank 5
        [9.5, 1.0, 2.0, 3.0, 7.0, 4.0, 5.0],  # answer 4 -> rank 1 once the special token 0 is left out
    ])
    ranks = answer_ranks(logits, [[1], [6, 3], [2], [4]], excluded_ids=[0])
    assert ranks == [1, 2, 5, 1]
    assert answer_ranks(logits, [[1], [6, 3], [2], [4]]) == [1, 2, 5, 2]  # [0] counted when not excluded
    metrics = suite_metrics(ranks, ["a", "b", "a", "b"], k=2)
    assert metrics["k"] == 2 and metrics["n_items"] == 4
    assert metrics["overall"] == pytest.approx(
        {"n": 4, "precision_at_1": 0.5, "precision_at_k": 0.75, "mrr": (1 + 1 / 2 + 1 / 5 + 1) / 4})
    assert metrics["groups"]["a"] == pytest.approx({"n": 2, "precision_at_1": 0.5, "precision_at_k": 0.5,
                                                    "mrr": (1 + 1 / 5) / 2})
    assert metrics["groups"]["b"] == pytest.approx({"n": 2, "precision_at_1": 0.5, "precision_at_k": 1.0,
                                                    "mrr": (1 / 2 + 1) / 2})


def test_ties_count_in_the_answers_favour() -> None:
    assert answer_ranks(torch.tensor([[1.0, 3.0, 3.0, 2.0]]), [[2]]) == [1]


def test_tsv_and_jsonl_suites_load(tmp_path: Path) -> None:
    tsv = load_suite(write_cloze_suite(tmp_path / "cloze.tsv"))
    assert tsv.name == "cloze" and len(tsv.items) == len(cloze_items())
    first = cloze_items()[0]
    assert (tsv.items[0].sentence, tsv.items[0].answers, tsv.items[0].group) == (first.sentence, first.answers,
                                                                                first.group)
    lines = [json.dumps({"sentence": "the cow says [MASK].", "answers": ["moo"], "group": "sound"}), "",
             json.dumps({"sentence": "paris is in <mask>.", "answers": "france|gaul"})]
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    suite = load_suite(path)
    assert [(i.answers, i.group) for i in suite.items] == [(("moo",), "sound"), (("france", "gaul"), "all")]
    assert len(suite.sha256) == 64 and suite.sha256 != tsv.sha256


@pytest.mark.parametrize("name, content, message", [
    ("a.tsv", "text\tlabel\nx [MASK]\ty\n", "header naming the columns sentence, answers"),
    ("b.tsv", "sentence\tanswers\tgroup\nthe [MASK] and [MASK]\tx\tg\n",
     "b.tsv:2: .* exactly one \\[MASK\\]; this one has 2"),
    ("c.tsv", "sentence\tanswers\tgroup\nthe dog\tx\tg\n", "c.tsv:2: .* has 0"),
    ("d.tsv", "sentence\tanswers\tgroup\nthe [MASK]\t | \tg\n", "d.tsv:2: no answer"),
    ("e.tsv", "sentence\tanswers\tgroup\nthe [MASK]\n", "e.tsv:2: expected 3 tab-separated columns"),
    ("f.jsonl", '{"sentence": "the [MASK]", "answers": ["x"]}\n{"sentence": 3}\n', "f.jsonl:2: expected"),
    ("g.jsonl", "not json\n", "g.jsonl:1: not a JSON object"),
    ("h.tsv", "sentence\tanswers\n", "holds no probe items"),
])
def test_bad_suites_are_refused_naming_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ProbeInputError, match=message):
        load_suite(path)


def test_evaluation_agrees_with_a_direct_forward_pass(tmp_path: Path) -> None:
    tokenizer = train_tokenizer(generate_documents(300), TokenizerConfig(vocab_size=150))
    torch.manual_seed(2)
    model = BertForMaskedLM(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                                       num_attention_heads=2, intermediate_size=23, max_position_embeddings=40)).eval()
    suite = load_suite(write_cloze_suite(tmp_path / "cloze.tsv"))
    result = evaluate_suite(model, tokenizer, suite, top_k=3, batch_size=13)  # several padded batches
    assert result.metrics["n_items"] == len(suite.items) and result.metrics["k"] == 3
    assert set(result.metrics["groups"]) == {item.group for item in suite.items}
    assert any("ranked by its first piece" in note for note in result.notes)  # small vocab: multi-piece answers
    for item, scored in list(zip(suite.items, result.items))[::9]:
        ids = encode_text(tokenizer, item.sentence)
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0, ids.index(tokenizer.mask_id)]  # (V,)
        logits[tokenizer.special_ids] = -torch.inf
        best = max(float(logits[tokenizer.encode(a)[0]]) for a in item.answers)
        assert scored.rank == int((logits > best).sum()) + 1
        assert scored.predictions == [tokenizer.id_to_token(i) for i in logits.topk(3).indices.tolist()]
    ranks = [i.rank for i in result.items]
    assert result.metrics["overall"]["mrr"] == pytest.approx(sum(1 / r for r in ranks) / len(ranks))


def test_probe_results_are_stored_per_checkpoint(tmp_path: Path) -> None:
    with RunStore.open(tmp_path / "db.sqlite") as store:
        run = store.create_run("r", "pretrain", {}, None, None)
        scores = {"n": 2, "precision_at_1": 0.5, "precision_at_k": 1.0, "mrr": 0.75}
        metrics = {"k": 10, "n_items": 2, "overall": scores, "groups": {"g": scores}}
        for step in (20, 10):
            store.add_probe_result(run.id, step, "cloze", "a" * 64, {**metrics, "overall": {**scores, "mrr": step / 100}})
        again = store.add_probe_result(run.id, 20, "cloze", "a" * 64, metrics)  # same step and suite: replaced
        store.add_probe_result(run.id, 20, "cloze", "b" * 64, metrics)  # another version of the suite
        results = store.probe_results(run.id, suite_sha256="a" * 64)
        assert [(r.checkpoint_step, r.metrics["overall"]["mrr"]) for r in results] == [(10, 0.1), (20, 0.75)]
        assert results[1] == again and again.to_dict()["created_at"].endswith("+00:00")
        assert metric_series(results, "mrr") == [(10, 0.1), (20, 0.75)]
        assert metric_series(results, "precision_at_k", group="g") == [(10, 1.0), (20, 1.0)]
        with pytest.raises(StoreError, match="mix 2 versions"):
            metric_series(store.probe_results(run.id), "mrr")
        with pytest.raises(StoreError, match="no metric 'accuracy'"):
            metric_series(results, "accuracy")
        with pytest.raises(StoreError, match="no run with id 999"):
            store.add_probe_result(999, 1, "cloze", "a" * 64, metrics)
        store.delete_run(run.id)
        assert store.probe_results(run.id) == []
