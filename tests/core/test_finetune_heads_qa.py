"""Task heads (HF names, loading a pretraining checkpoint, word alignment) and QA windowing / span selection."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from workbench.core.checkpoints import save_checkpoint
from workbench.core.finetune.data import QAExample
from workbench.core.finetune.encoding import align_word_labels, collate, word_predictions
from workbench.core.finetune.heads import build_task_model, freeze, from_pretraining
from workbench.core.finetune.qa import best_answer, prepare_qa_features
from workbench.core.modeling_bert import BertForMaskedLM
from workbench.core.tokenization import train_tokenizer
from workbench.settings.model import BertConfig
from workbench.settings.tokenizer import TokenizerConfig

CONFIG = BertConfig(vocab_size=99, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
                    max_position_embeddings=40)
TEXTS = ["the cat sat on the mat near the old barn", "paris is the capital of france", "dogs bark at the moon"] * 20


def test_heads_have_hf_names_and_shapes() -> None:
    torch.manual_seed(0)
    ids = torch.randint(5, 99, (13, 7))
    cls = build_task_model("classify", CONFIG, 3)
    assert {"bert.pooler.dense.weight", "classifier.weight", "classifier.bias"} <= set(cls.state_dict())
    out = cls(ids, torch.ones_like(ids), labels=torch.zeros(13, dtype=torch.long))
    assert out.logits.shape == (13, 3) and out.loss.ndim == 0
    tag = build_task_model("tag", CONFIG, 5)
    labels = torch.full((13, 7), -100)
    labels[:, 1] = 2
    out = tag(ids, labels=labels)
    assert out.logits.shape == (13, 7, 5) and torch.isfinite(out.loss)
    qa = build_task_model("qa", CONFIG, 2)
    assert "qa_outputs.weight" in qa.state_dict()
    out = qa(ids, start_positions=torch.zeros(13, dtype=torch.long), end_positions=torch.ones(13, dtype=torch.long))
    assert out.logits.shape == (13, 7, 2)


def test_from_pretraining_copies_the_encoder(tmp_path: Path) -> None:
    torch.manual_seed(1)
    mlm = BertForMaskedLM(CONFIG)
    info = save_checkpoint(tmp_path, mlm, {"step": 5}, {"model": CONFIG.to_dict()})
    model = from_pretraining("tag", info.path, 4)
    for name, tensor in mlm.bert.state_dict().items():
        assert torch.equal(model.bert.state_dict()[name], tensor), name
    scratch = build_task_model("tag", CONFIG, 4)
    assert not torch.equal(scratch.bert.embeddings.word_embeddings.weight, mlm.bert.embeddings.word_embeddings.weight)
    freeze(model, embeddings=True, layers=1)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert any(n.startswith("bert.embeddings.") for n in frozen) and any(".layer.0." in n for n in frozen)
    assert not any(".layer.1." in n or n.startswith("classifier") for n in frozen)
    with pytest.raises(ValueError, match="--freeze-layers must be between 0 and 2"):
        freeze(model, embeddings=False, layers=3)


def test_word_alignment_round_trip() -> None:
    word_ids = [None, 0, 0, 1, 2, 2, 2, None]
    assert align_word_labels(word_ids, [3, 0, 5]) == [-100, 3, -100, 0, 5, -100, -100, -100]
    assert word_predictions(word_ids, [9, 3, 1, 0, 5, 2, 2, 9], n_words=4, outside=0) == [3, 0, 5, 0]
    batch = collate([{"input_ids": [2, 7, 3], "token_type_ids": [0, 0, 0], "labels": [-100, 1, -100]},
                     {"input_ids": [2, 3], "token_type_ids": [0, 0], "labels": [-100, -100]}], pad_id=0)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 1, -100], [-100, -100, -100]]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, TokenizerConfig(type="wordpiece", vocab_size=200, min_frequency=1))


def test_qa_windows_overlap_and_label_the_answer(tokenizer) -> None:
    context = " ".join(f"word{i % 7} the cat" for i in range(12)) + " paris is the capital of france"
    start = context.index("capital of france")
    example = QAExample("q", "what is paris", context, ["capital of france"], [start])
    features = prepare_qa_features(tokenizer, [example], max_len=24, doc_stride=8)
    assert len(features) > 2 and all(len(f["input_ids"]) <= 24 for f in features)
    labelled = [f for f in features if f["start_positions"] != 0]
    assert labelled, "the window holding the answer is labelled"
    for f in labelled:
        s, e = f["offsets"][f["start_positions"]], f["offsets"][f["end_positions"]]
        assert context[s[0]: e[1]] == "capital of france"
    others = [f for f in features if f not in labelled]
    assert all(f["end_positions"] == 0 for f in others)
    impossible = QAExample("i", "who", context, [], [], is_impossible=True)
    assert all(f["start_positions"] == 0 for f in prepare_qa_features(tokenizer, [impossible], 24, 8))
    # consecutive windows start doc_stride context tokens apart, so they overlap
    firsts = [next(o for o in f["offsets"] if o is not None)[0] for f in features]
    assert firsts == sorted(firsts) and len(set(firsts)) == len(firsts)


def test_best_answer_picks_a_legal_span_across_windows() -> None:
    context = "Paris is the capital of France"
    offsets = [[None, (0, 5), (6, 8), None], [None, (9, 12), (13, 20), (21, 23), (24, 30), None]]
    starts = [torch.tensor([0.0, 1.0, 0.0, 9.0]), torch.tensor([0.0, 0.0, 3.0, 0.0, 0.0, 9.0])]
    ends = [torch.tensor([0.0, 0.0, 1.0, 9.0]), torch.tensor([0.0, 0.0, 0.0, 0.0, 4.0, 9.0])]
    assert best_answer(context, offsets, starts, ends) == ("capital of France", 7.0)  # [SEP] scores ignored
    assert best_answer(context, offsets, starts, ends, max_answer_len=2)[0] == "of France"  # 0 + 4
    ends_before = [torch.tensor([0.0, 5.0, 0.0, 0.0]), torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, 0.0])]
    starts_after = [torch.tensor([0.0, 0.0, 6.0, 0.0]), torch.tensor([0.0] * 6)]
    text, _ = best_answer(context, offsets, starts_after, ends_before)
    assert text == "is"  # "is" .. "Paris" (6 + 5) ends before it starts; "is" alone (6 + 0) is the best legal
    null_high = [torch.tensor([20.0, 1.0, 0.0, 0.0]), torch.tensor([20.0, 0.0, 3.0, 0.0, 0.0, 0.0])]
    assert best_answer(context, offsets, null_high, ends, allow_no_answer=True)[0] == ""
    assert best_answer(context, offsets, null_high, ends, allow_no_answer=False)[0] == "capital of France"
